"""The static scan: forbidden imports and calls, through aliases."""
from grader.checks.static import scan


def names(src, **kw):
    return [f.name for f in scan(src, **kw)]


def test_alias_resolution():
    src = "import torch.nn.functional as F\ndef f(x, w):\n    return F.conv2d(x, w)\n"
    assert "torch.nn.functional.conv2d" in names(src, forbidden_calls=("torch.nn.functional",))


def test_from_import_alias():
    src = "from scipy.special import expit as e\ny = e(1)\n"
    assert names(src, forbidden_calls=("scipy.special.expit",))


def test_allowed_call_is_not_reported():
    src = "import torch.nn.functional as F\ny = F.pad(x, (1, 1))\n"
    assert names(src, forbidden_calls=("torch.nn.functional",),
                 allowed_calls=("torch.nn.functional.pad",)) == []


def test_autograd_and_introspection_always_forbidden():
    src = ("import gc\nimport torch\nx.requires_grad_()\ny.backward()\n"
           "objs = gc.get_objects()\nz = torch.autograd.grad(y, x)\n")
    found = names(src)
    assert any("backward" in n for n in found) and any("requires_grad" in n for n in found)
    assert "gc.get_objects" in found and any(n.startswith("torch.autograd") for n in found)


def test_forbidden_import_and_dynamic_import():
    assert names("import torch\n", forbidden_imports=("torch",)) == ["torch"]
    assert "__import__" in names("m = __import__('torch')\n")


def test_plain_code_is_clean():
    src = "import numpy as np\ndef affine_backward(dout, cache):\n    return dout.sum(0)\n"
    assert names(src, forbidden_imports=("torch",)) == []
