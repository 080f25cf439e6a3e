"""ex06 convolution: the oracle, the diagnoses behind the messages, and the forbidden-op guard.

The submissions in autotests/submissions/ex06/ test the checks end to end; these tests pin the
pieces a message or a verdict comes from: the oracle against the definition, the configurations
against the issue's list, the shape/value recognisers, the feature pattern of ``_judge``, and
the runtime guard's coverage of every aten convolution operator of the installed torch.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import grade_file
from grader.checks import static
from grader.exercises.ex06_conv import EXERCISE
from grader.exercises.ex06_conv import checks as ex
from grader.spec import Fail


def conv_loops(x, w, b, stride, pad):
    """The definition, written out: out[n,f,i,j] = b[f] + sum w[f,c,p,q] x_pad[n,c,i*s+p,j*s+q]."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    out = np.empty((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", win, w) + b
    return out


@pytest.mark.parametrize("cfg", ex.CONFIGS[:3] + ex.EDGE_CONFIGS[:3], ids=str)
def test_oracle_is_the_definition_and_its_gradient(cfg):
    d = ex._inputs(np.random.default_rng(0), cfg)
    out, dx, dw, db = ex.conv_oracle(d["x"], d["w"], d["b"], cfg.stride, cfg.pad, d["dout"])
    np.testing.assert_allclose(out, conv_loops(d["x"], d["w"], d["b"], cfg.stride, cfg.pad),
                               rtol=1e-12, atol=1e-12)
    assert out.shape == cfg.out_shape and dx.shape == cfg.x_shape and dw.shape == cfg.w_shape
    # the gradient is linear in dout: check it along random directions by central differences
    rng = np.random.default_rng(1)
    for name, g in (("x", dx), ("w", dw), ("b", db)):
        v = rng.normal(size=d[name].shape)
        plus, minus = dict(d), dict(d)
        plus[name], minus[name] = d[name] + 1e-6 * v, d[name] - 1e-6 * v
        num = (np.sum(d["dout"] * conv_loops(plus["x"], plus["w"], plus["b"], cfg.stride, cfg.pad))
               - np.sum(d["dout"] * conv_loops(minus["x"], minus["w"], minus["b"], cfg.stride,
                                               cfg.pad))) / 2e-6
        assert abs(num - np.sum(g * v)) < 1e-6 * max(1.0, abs(num))


def test_configurations_cover_the_issue():
    main, edge = ex.CONFIGS, ex.EDGE_CONFIGS
    assert {c.stride for c in main} == {1, 2, 3} and {c.pad for c in main} == {0, 1, 2}
    assert any(c.H != c.W for c in main) and any(c.HH != c.WW for c in main)
    assert any(c.N == 1 for c in main) and all(c.C > 1 and c.F > 1 for c in main[:2])
    assert not any(c.floors for c in main), "main configurations must tile exactly"
    assert ex.Config(1, 2, 8, 8, 3, 3, 3, 3, 0) in edge                 # 5/3: the issue's example
    assert sum(c.floors for c in edge) >= 4 and any(c.N == c.C == c.F == 1 for c in edge)
    assert any(c.out_hw == (1, 1) for c in edge) and any(c.HH == c.WW == 1 for c in edge)
    assert not ex.TINY.floors and not ex.REALISTIC.floors


@pytest.mark.parametrize("got, text", [
    ((1, 3, 3, 3), "rounded"),                          # 1 + round(5/3) = 3, floor gives 2
    ((1, 3, 2, 2), None),                               # the right shape: no mistake named
    ((1, 3, 6, 6), "stride is ignored"),
    ((1, 2, 2, 2), "C=2, the input's channels"),
])
def test_shape_hint_names_rounding_and_stride(got, text):
    cfg = ex.Config(1, 2, 8, 8, 3, 3, 3, 3, 0)
    hint = ex._shape_hint(cfg, got)
    if text is None:
        assert "H_out = 1 + (H + 2*pad - HH) // stride = 2" in hint
    else:
        assert text in hint


@pytest.mark.parametrize("got_hw, text", [
    ((7, 5), "W_out was computed with HH=3 instead of WW=2"),
    ((8, 5), "HH and WW are swapped"),
    ((6, 5), "padded on one side only"),
    ((5, 6), "only the width was padded"),
    ((7, 4), "only the height was padded"),
    ((6, 7), "H_out and W_out are swapped"),
])
def test_shape_hint_names_square_kernel_and_padding(got_hw, text):
    cfg = ex.Config(2, 3, 7, 5, 4, 3, 2, 1, 1)            # out (7, 6)
    assert text in ex._shape_hint(cfg, (2, 4) + got_hw)


def test_forward_hint_names_flip_bias_and_one_sided_padding():
    cfg = ex.Config(2, 3, 7, 5, 4, 3, 2, 2, 1)
    d = ex._inputs(np.random.default_rng(2), cfg)
    x, w, b, s, p = d["x"], d["w"], d["b"], cfg.stride, cfg.pad
    assert "true convolution" in ex._forward_hint(cfg, d, conv_loops(x, w[:, :, ::-1, ::-1], b, s, p))
    assert "bias is missing" in ex._forward_hint(cfg, d, conv_loops(x, w, 0 * b, s, p))
    shifted = ex.conv_oracle(x, w, b, s, (0, 2 * p, 0, 2 * p))
    assert "bottom and right" in ex._forward_hint(cfg, d, shifted)
    assert ex._forward_hint(cfg, d, conv_loops(x, w, b, s, p) + 1.0) == ""


def test_db_hint_names_each_average():
    cfg = ex.Config(2, 3, 7, 5, 4, 3, 3, 2, 1)             # out (4, 3): N*Ho*Wo = 24
    db = np.array([1.0, -2.0, 3.0, 0.5])
    assert "N*H_out*W_out = 24" in ex._db_hint(cfg, db / 24, db)
    assert "N = 2" in ex._db_hint(cfg, db / 2, db)
    assert "SUM" not in ex._db_hint(cfg, db * 3, db)


def test_judge_names_the_feature_only_failures_share():
    cases = [(c,) for c in ex.CONFIGS]

    def stride_ignored(case):
        if case[0].stride > 1:
            raise Fail("dx is wrong")

    with pytest.raises(Fail, match=r"every wrong one has stride > 1") as exc:
        ex._judge(cases, stride_ignored, "dx")
    assert "(i*stride, j*stride)" in str(exc.value) and "Wrong on 5 of 9" in str(exc.value)

    def all_wrong(case):
        raise Fail("out is wrong")

    with pytest.raises(Fail) as exc:                    # nothing passes: no feature is claimed
        ex._judge(cases, all_wrong, "out")
    assert "every wrong one" not in str(exc.value)

    def wrong_on_c_gt_1(case):                          # every main configuration has C > 1:
        raise Fail("wrong")                             # never claim a feature all configs share

    with pytest.raises(Fail) as exc:
        ex._judge(cases[:3], wrong_on_c_gt_1, "dx")
    assert "C > 1" not in str(exc.value)


def test_a_diagnosed_failure_gets_one_hint(tmp_path):
    """Regression: the pad:-pad diagnosis and the pad = 0 feature hint said the same thing twice
    in one message; the pattern line stays, the second hint goes."""
    from conftest import SUBMISSIONS
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / EXERCISE.filename).write_text(
        (SUBMISSIONS / "ex06" / "pad_slice_empty.py").read_text())
    result = grade_file("ex06", tmp_path, perf=False)
    msg = next(c for c in result.checks if c.name == "backward_dx").message
    assert "every wrong one has pad = 0" in msg
    assert msg.count("Hint:") == 1 and "pad:pad + H" in msg, msg


# -- the runtime guard -------------------------------------------------------------------------
def _matched(name: str) -> bool:
    return name.split(".")[0].startswith(EXERCISE.forbidden_ops)


def test_forbidden_ops_cover_every_aten_convolution_of_this_torch():
    torch = pytest.importorskip("torch")
    names = {n.split(".")[0] for n in torch._C._dispatch_get_all_op_names() if n.startswith("aten::")}
    not_conv = ("aten::_convert", "aten::mkldnn_reorder_conv")   # sparse index/weight layout
    conv = {n for n in names if ("conv" in n and not n.startswith(not_conv))
            or "im2col" in n or "col2im" in n}
    assert "aten::convolution" in conv and "aten::convolution_backward" in conv
    missed = sorted(n for n in conv if not _matched(n))
    assert not missed, f"aten convolution operators the guard lets through: {missed}"
    # ... and nothing a hand-written convolution needs
    for allowed in ("aten::unfold", "aten::as_strided", "aten::einsum", "aten::bmm", "aten::mm",
                    "aten::constant_pad_nd", "aten::pad", "aten::index_add", "aten::flip",
                    "aten::_convert_indices_from_coo_to_csr", "aten::contiguous", "aten::conj"):
        assert not _matched(allowed), allowed


def _refused(fn) -> str:
    from grader.runner.guard import VIOLATIONS, ForbiddenOperation, forbidden_ops_guard
    VIOLATIONS.clear()
    try:
        with forbidden_ops_guard(EXERCISE.forbidden_ops):
            fn()
    except ForbiddenOperation:
        pass
    found = list(VIOLATIONS)
    VIOLATIONS.clear()
    return ", ".join(found)


def _cases_for_guard():
    import torch
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 2, dtype=torch.float64)
    b = torch.randn(4, dtype=torch.float64)
    dout = torch.randn(2, 4, 4, 4, dtype=torch.float64)
    F = torch.nn.functional
    refused = {
        "F.conv2d": lambda: F.conv2d(x, w, b),
        "getattr(torch, 'con' + 'v2d')": lambda: getattr(torch, "con" + "v2d")(x, w, b),
        "torch.ops.aten.convolution": lambda: torch.ops.aten.convolution(
            x, w, b, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
        "torch.ops.aten.convolution_backward": lambda: torch.ops.aten.convolution_backward(
            dout, x, w, [4], [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True, True, True]),
        "torch.nn.grad.conv2d_weight": lambda: torch.nn.grad.conv2d_weight(x, w.shape, dout),
        "F.conv_transpose2d": lambda: F.conv_transpose2d(dout, w),
        "torch.nn.Conv2d": lambda: torch.nn.Conv2d(3, 4, 3).double()(x),
        "F.unfold (im2col)": lambda: F.unfold(x, (3, 2)),
        "F.fold (col2im)": lambda: F.fold(torch.randn(1, 6, 20, dtype=torch.float64), (5, 6), (1, 2)),
        "requires_grad_ + backward": lambda: (x.clone().requires_grad_() * 2).sum().backward(),
        "torch.func.vjp": lambda: torch.func.vjp(lambda t: (t * t).sum(), x),
        "torch.func.grad": lambda: torch.func.grad(lambda t: (t * t).sum())(x),
        "torch.func.jacfwd": lambda: torch.func.jacfwd(lambda t: t * 2)(x[0, 0, 0]),
        "forward-mode AD": lambda: _forward_ad(torch, x),
    }
    allowed = {
        "Tensor.unfold": lambda: x.unfold(2, 3, 1).unfold(3, 2, 1).sum(),
        "as_strided + einsum": lambda: torch.einsum(
            "nchwpq,fcpq->nfhw", x.as_strided((2, 3, 4, 4, 3, 2), (90, 30, 5, 1, 5, 1)), w),
        "F.pad": lambda: F.pad(x, (1, 1, 1, 1)),
        "index_add_": lambda: torch.zeros(2, 3, 30, dtype=torch.float64).index_add_(
            2, torch.arange(30), x.reshape(2, 3, 30)),
        "torch.func.vmap": lambda: torch.func.vmap(lambda t: t * 2)(x),
    }
    return refused, allowed


def _forward_ad(torch, x):
    import torch.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        fwAD.unpack_dual(fwAD.make_dual(x, torch.ones_like(x)) * 2)


def test_guard_refuses_convolution_and_autograd_however_reached():
    pytest.importorskip("torch")
    refused, allowed = _cases_for_guard()
    missed = [name for name, fn in refused.items() if not _refused(fn)]
    assert not missed, f"not refused: {missed}"
    blocked = {name: _refused(fn) for name, fn in allowed.items()}
    assert not any(blocked.values()), f"wrongly refused: {blocked}"
    import torch.autograd.forward_ad as fwAD
    assert fwAD._current_level == -1                    # no dual level left open


def test_guard_is_inert_outside_student_calls():
    torch = pytest.importorskip("torch")
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    (x * x).sum().backward()                            # the grader's own autograd still works
    assert torch.func.grad(lambda t: (t * t).sum())(x.detach()).shape == (3,)


# -- the static scan with this exercise's lists ------------------------------------------------
@pytest.mark.parametrize("source, found", [
    ("import torch.nn.functional as F\ndef f(x):\n    return F.pad(x, (1, 1, 1, 1))\n", None),
    ("from torch.nn.functional import pad\n", None),
    ("import torch.nn.functional as F\ny = F.conv2d(x, w)\n", "torch.nn.functional.conv2d"),
    ("import torch.nn.functional as F\ny = F.unfold(x, 3)\n", "torch.nn.functional.unfold"),
    ("import torch\ny = torch.conv2d(x, w)\n", "torch.conv2d"),
    ("import torch\nm = torch.nn.Conv2d(3, 4, 3)\n", "torch.nn.Conv2d"),
    ("from torch.nn.grad import conv2d_input\n", "torch.nn.grad.conv2d_input"),
    ("import torch\nu = torch.nn.Unfold(3)\n", "torch.nn.Unfold"),
])
def test_static_scan_allows_pad_only(source, found):
    e = EXERCISE
    findings = static.scan(source, forbidden_imports=e.forbidden_imports,
                           forbidden_calls=e.forbidden_calls,
                           allowed_calls=e.config["allowed_calls"])
    if found is None:
        assert findings == []
    else:
        assert findings and findings[0].name == found


# -- a correct but slow submission passes every correctness check -------------------------------
NAIVE_LOOPS = '''
import torch


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    out = x.new_zeros((N, F, H_out, W_out))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                out[n, :, i, j] = (w * window).sum(dim=(1, 2, 3)) + b
    cache = (x, w, b, stride, pad)
    return out, cache


def conv_backward(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dx_pad = torch.zeros_like(x_pad)
    dw = torch.zeros_like(w)
    db = dout.sum(dim=(0, 2, 3))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                hs, ws = i * stride, j * stride
                window = x_pad[n, :, hs:hs + HH, ws:ws + WW]
                g = dout[n, :, i, j]                                  # (F,)
                dw += g[:, None, None, None] * window[None]
                dx_pad[n, :, hs:hs + HH, ws:ws + WW] += (g[:, None, None, None] * w).sum(dim=0)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
'''


def test_loops_over_batch_and_positions_pass_every_correctness_check(tmp_path):
    (tmp_path / "ex06_conv.py").write_text(NAIVE_LOOPS)
    result = grade_file("ex06", tmp_path, seed=11, perf=False)
    judged = [c for c in result.checks if c.kind != "performance" and c.status != "skip"]
    assert all(c.status == "pass" for c in judged), \
        [(c.name, c.status, c.message[:200]) for c in judged if c.status != "pass"]
    assert {"forward_values", "backward_dx", "backward_dw", "backward_db", "numerical_gradient",
            "edge_configs", "inputs_untouched"} <= {c.name for c in judged}
