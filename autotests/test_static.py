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


# -- issue 12, item 1: what the code does counts, not which harmless module it names -------------
import pytest  # noqa: E402

from conftest import ROOT, grade_file  # noqa: E402
from grader.checks import static  # noqa: E402

#: First lines of real course files (CS231n assignments 2016-2024, Deep Learning Specialization
#: notebooks exported to .py, d2l chapters).
CS231N = ("from builtins import range\nfrom builtins import object\n"
          "from past.builtins import xrange\nfrom __future__ import print_function\n"
          "import numpy as np\n")
COMPAT = ("from six.moves import range\nfrom future import standard_library\n"
          "standard_library.install_aliases()\nfrom builtins import str, range, object\n"
          "xrange = range\n")
STDLIB = "import math\nimport functools, itertools\nfrom typing import List, Tuple\nimport copy\n"
DLS = "import numpy as np\nimport h5py\nfrom testCases import *\nfrom dnn_utils import sigmoid\n"
D2L = "import math\nimport torch\nfrom torch import nn\nfrom d2l import torch as d2l\n"


@pytest.mark.parametrize("header", [CS231N, COMPAT, STDLIB, DLS, D2L],
                         ids=["cs231n", "compat", "stdlib", "dls", "d2l"])
def test_course_headers_are_not_findings(header):
    assert scan(header, forbidden_imports=()) == []
    # a numpy exercise's own rules: only the torch import of d2l's header is a finding
    found = scan(header, forbidden_imports=("torch", "scipy", "jax"))
    assert [f.category for f in found] == (["exercise"] * 2 if header is D2L else [])


def _future_header(text: str) -> str:
    """``from __future__`` must come first in a module: CS231n's files put it there."""
    lines = text.splitlines(keepends=True)
    return "".join([ln for ln in lines if "__future__" in ln] + [ln for ln in lines if "__future__" not in ln])


@pytest.mark.parametrize("header", [CS231N, COMPAT + "import numpy as np\n", STDLIB],
                         ids=["cs231n", "compat", "stdlib"])
def test_a_correct_file_with_a_course_header_gets_full_marks(header, tmp_path):
    """Regression (issue 12): `from builtins import range`, CS231n's first line in 26 of 29 real
    layers.py, scored 0 as tampering."""
    (tmp_path / "exercises").mkdir()
    source = (ROOT / "solutions" / "ex01_sigmoid.py").read_text()
    (tmp_path / "exercises" / "ex01_sigmoid.py").write_text(_future_header(header + source))
    result = grade_file("ex01", tmp_path, perf=False)
    assert result.score == result.max_score, [(c.name, c.message[:200]) for c in result.checks]


@pytest.mark.parametrize("header, missing", [(DLS, "h5py"), (D2L, "torch")], ids=["dls", "d2l"])
def test_a_missing_course_module_is_an_import_error_not_tampering(header, missing, tmp_path):
    (tmp_path / "exercises").mkdir()
    source = (ROOT / "solutions" / "ex01_sigmoid.py").read_text()
    (tmp_path / "exercises" / "ex01_sigmoid.py").write_text(header + source)
    result = grade_file("ex01", tmp_path, perf=False)
    values = next(c for c in result.checks if c.name == "sigmoid_values")
    assert "dlgrade forbids in graded code" not in values.message
    if missing == "torch":          # a numpy exercise forbids torch: the exercise's own rule
        assert "this exercise forbids" in values.message and "at line 2" in values.message
    else:
        assert values.status == "error" and "failed to import" in values.message


TAMPERING = {
    "import numpy as np\nnp.exp = lambda z: z\n": ("line 2", "assigns numpy.exp", "patching"),
    "import numpy\nsetattr(numpy, 'allclose', print)\n": ("line 2", "numpy.allclose", "patching"),
    "import numpy as np\nm = np\nm.isclose = None\n": ("line 3", "numpy.isclose", "patching"),
    "from numpy import testing\ndel testing.assert_allclose\n": ("line 2", "deletes", "patching"),
    "import numpy as np\nnp.__dict__['exp'] = abs\n": ("line 2", "numpy.__dict__", "patching"),
    "import numpy as np\nvars(np).update(exp=abs)\n": ("line 2", "numpy.__dict__", "patching"),
    "import builtins\nbuiltins.len = lambda x: 0\n": ("line 2", "builtins.len", "builtins"),
    "x = __builtins__\n": ("line 1", "__builtins__", "builtins"),
    "g = globals()['__builtins__']\n": ("line 1", "__builtins__", "builtins"),
    "import torch\ntorch.Tensor.__matmul__ = None\n": ("line 2", "torch.Tensor.__matmul__", "patching"),
    "import sys\nsys.modules['numpy'] = None\n": ("line 2", "sys.modules", "import machinery"),
    "import sys\nsys.meta_path.clear()\n": ("line 2", "sys.meta_path", "import machinery"),
    "import sys\nsys.settrace(None)\n": ("line 2", "sys.settrace", "tracing"),
    "import sys\nf = sys._getframe(1)\n": ("line 2", "sys._getframe", "introspection"),
    "import gc\nobjs = gc.get_objects()\n": ("line 2", "gc.get_objects", "introspection"),
    "def f(g):\n    return g.__globals__\n": ("line 2", ".__globals__", "introspection"),
    "import os\nos.kill(os.getppid(), 9)\n": ("line 2", "os.kill", "process control"),
    "import subprocess\n": ("line 1", "imports subprocess", "process control"),
    "exec('x = 1')\n": ("line 1", "exec()", "dynamic code"),
    "import builtins\nbuiltins.eval('1')\n": ("line 2", "builtins.eval", "dynamic code"),
}


@pytest.mark.parametrize("source", list(TAMPERING), ids=lambda s: s.splitlines()[-1][:40])
def test_tampering_is_named_with_its_file_line_and_reason(source):
    line, what, kind = TAMPERING[source]
    found = scan(source, filename="ex01_sigmoid.py")
    assert found, source
    message = static.message(found)
    assert f"at {line}" in message and what in message and "ex01_sigmoid.py" in message, message
    assert static.WHY[kind] in message, message
    assert "dlgrade forbids in graded code" in message


def test_own_objects_and_local_modules_may_be_assigned():
    src = ("import numpy as np\nimport helpers\nclass Layer:\n    def __init__(self):\n"
           "        self.w = np.zeros(3)\n        self.backward = None\n"
           "cache = {}\ncache['x'] = 1\nxrange = range\nhelpers.DEBUG = True\n")
    assert scan(src, local_modules=("helpers",)) == []
    assert [f.rule for f in scan(src)] == ["patching"]          # helpers unknown: a library
    # display options and backend flags configure a library; they replace nothing
    assert scan("import pandas as pd\nimport torch\npd.options.display.max_rows = 10\n"
                "torch.backends.cudnn.benchmark = True\n") == []
    # a numpy exercise cannot run torch: a method named backward is the student's own
    assert scan("def f(layer, d):\n    return layer.backward(d)\n",
                forbidden_imports=("torch",)) == []


@pytest.mark.parametrize("source", ["x = " + "-" * 100000 + "1\n", "x = " + "+".join(["1"] * 200000),
                                    "x = " + "a." * 100000 + "b\n", "y = 1\n" + "z" * (3 * 10**6)])
def test_the_scan_is_bounded_and_names_the_line(source):
    found = scan(source)
    assert len(found) == 1 and found[0].category == static.UNSCANNABLE
    assert found[0].line >= 1 and f"at line {found[0].line}" in static.message(found)


def test_an_unscannable_file_is_an_error_for_the_student_not_a_grader_crash(tmp_path):
    (tmp_path / "ex01_sigmoid.py").write_text("x = " + "+".join(["1"] * 200000) + "\n")
    result = grade_file("ex01", tmp_path / "ex01_sigmoid.py", perf=False)
    assert result.score == 0 and all(c.status in ("error", "skip") for c in result.checks)
    assert "nests expressions too deeply" in result.checks[0].message
