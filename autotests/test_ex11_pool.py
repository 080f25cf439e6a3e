"""ex11 max pooling: the oracle, the configurations, the recognisers behind the hints, the guard.

The submissions in autotests/submissions/ex11/ test the checks end to end; these tests pin the
pieces a verdict or a message comes from: the oracle against the definition, the configurations
against the issue's list, each recogniser against the mistake it names, the feature pattern, the
library references (reference.py and the runner's timing references) against the oracle, and the
runtime guard's coverage of every aten max-pooling operator of the installed torch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import ROOT, SUBMISSIONS, grade_file
from grader.checks import static
from grader.exercises.ex11_pool import EXERCISE
from grader.exercises.ex11_pool import configs as cf
from grader.exercises.ex11_pool import diagnose as dg
from grader.spec import Fail


def pool_loops(x, ph, pw, s, dout=None):
    """The definition, written out: out[n,c,i,j] = max of the window at (i*s, j*s); dx routes
    dout[n,c,i,j] to that window's maximum, adding where windows overlap."""
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.empty((N, C, Ho, Wo))
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    out[n, c, i, j] = win.max()
                    p, q = np.unravel_index(np.argmax(win), win.shape)
                    if dout is not None:
                        dx[n, c, i * s + p, j * s + q] += dout[n, c, i, j]
    return out if dout is None else (out, dx)


@pytest.mark.parametrize("cfg", cf.CONFIGS + cf.EDGE_CONFIGS, ids=str)
def test_oracle_is_the_definition_and_its_gradient(cfg):
    d = cf.make_inputs(np.random.default_rng(0), cfg)
    out, dx = cf.pool_oracle(d["x"], *cfg.args, d["dout"])
    want_out, want_dx = pool_loops(d["x"], *cfg.args, d["dout"])
    assert out.shape == cfg.out_shape and dx.shape == cfg.x_shape
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-12)
    # the recognisers' baseline (the right routing) is the oracle too
    np.testing.assert_allclose(dg._route(cfg, d["x"], d["dout"]), dx, rtol=1e-12, atol=1e-12)


def test_configurations_cover_the_issue():
    main, edge = cf.CONFIGS, cf.EDGE_CONFIGS
    assert not any(c.floors for c in main), "main configurations must tile exactly"
    assert len(cf.DISJOINT) >= 4 and len(cf.OVERLAPPING) >= 4
    assert all(not c.overlaps for c in cf.DISJOINT) and all(c.overlaps for c in cf.OVERLAPPING)
    for group in (cf.DISJOINT, cf.OVERLAPPING):
        assert any(c.ph != c.pw for c in group) and any(c.H != c.W for c in group)
        assert any(c.N == 1 for c in group) and any(c.C == 1 for c in group)
    assert any(c.gaps for c in main) and any(c.s == 1 for c in main)
    assert sum(c.floors for c in edge) >= 4 and any(c.N == c.C == 1 for c in edge)
    assert any(c.out_hw == (1, 1) for c in edge) and any(c.ph == c.pw == 1 for c in edge)

    def sizes(c, rounding):
        return (rounding(1 + (c.H - c.ph) / c.s), rounding(1 + (c.W - c.pw) / c.s))

    for rounding in (math.ceil, round, lambda v: math.floor(v + 0.5)):
        assert any(sizes(c, rounding) != c.out_hw for c in edge), rounding


def test_inputs_have_distinct_values_far_apart():
    rng = np.random.default_rng(3)
    x = cf.distinct_values(rng, (2, 3, 9, 8))
    gaps = np.diff(np.sort(x.ravel()))
    assert x.min() >= -3 and x.max() <= 1 and gaps.min() > 1e-3
    assert np.mean(x < 0) > 0.6                     # windows of negative numbers are common
    # distinct after the float32 cast of the CUDA check as well
    assert np.unique(x.astype(np.float32)).size == x.size


@pytest.mark.parametrize("got_hw, text", [
    ((4, 4), "rounded up"),                         # ceil(5/2) = 3, floor gives 2
    ((2, 2), "the + 1 is missing"),
    ((3, 3), None),                                 # the right size: no mistake named
    ((6, 6), "the stride is ignored"),
    ((3, 2), None),
])
def test_shape_hint_names_rounding_and_stride(got_hw, text):
    cfg = cf.Config(1, 2, 7, 7, 2, 2, 2)
    hint = dg.shape_hint(cfg, (1, 2) + got_hw)
    if text is None:
        assert "H_out = 1 + (H - pool_height) // stride = 3" in hint
    else:
        assert text in hint


@pytest.mark.parametrize("got_hw, text", [
    ((2, 2), "W_out was computed with pool_height=3"),
    ((2, 2), "pool_height and pool_width are swapped"),      # the same size here: both named
    ((3, 2), "H_out and W_out are swapped"),
    ((2, 4), "assumes stride = pool size"),
])
def test_shape_hint_names_non_square_mistakes(got_hw, text):
    cfg = cf.Config(3, 2, 6, 8, 3, 2, 3)             # out (2, 3)
    assert text in dg.shape_hint(cfg, (3, 2) + got_hw)
    assert "batch and channel" in dg.shape_hint(cfg, (2, 3) + got_hw)
    tall = cf.Config(1, 1, 8, 6, 2, 3, 2)            # out (4, 2)
    assert "H_out was computed with pool_width=3" in dg.shape_hint(tall, (1, 1, 3, 2))


def _hint_of(variants, text):
    return next(v for h, v in variants if text in h)


OVERLAP_NONSQUARE = cf.Config(2, 3, 9, 8, 3, 2, 1)
STRIDED = cf.Config(2, 3, 7, 7, 3, 3, 2)
GAPPED = cf.Config(1, 3, 7, 7, 2, 2, 5)
TALL_POOL = cf.Config(1, 3, 10, 7, 3, 2, 3)


@pytest.mark.parametrize("text, cfg", [
    ("average pooling", OVERLAP_NONSQUARE), ("over the channels", OVERLAP_NONSQUARE),
    ("starts from 0", OVERLAP_NONSQUARE), ("the stride is ignored", STRIDED),
    ("step by the pool size", GAPPED), ("pool_width rows high", TALL_POOL),
])
def test_forward_recognisers_name_their_mistake(text, cfg):
    d = cf.make_inputs(np.random.default_rng(4), cfg)
    right = cf.pool_oracle(d["x"], *cfg.args)
    variants = dg.forward_variants(cfg, d["x"])
    wrong = _hint_of(variants, text)
    assert not np.allclose(wrong, right)
    assert text in dg.value_hint(wrong, right, variants)
    assert dg.value_hint(right, right, variants) == ""
    assert dg.value_hint(right + 0.5, right, variants) == ""      # no guess for other mistakes


@pytest.mark.parametrize("text, cfg", [
    ("overwrites", OVERLAP_NONSQUARE), ("erase the gradient", OVERLAP_NONSQUARE),
    ("every element of the window", OVERLAP_NONSQUARE), ("spread evenly", OVERLAP_NONSQUARE),
    ("starts at (i, j)", STRIDED), ("step by the pool size", GAPPED),
    ("k // pool_height", TALL_POOL), ("all zeros", OVERLAP_NONSQUARE),
])
def test_backward_recognisers_name_their_mistake(text, cfg):
    d = cf.make_inputs(np.random.default_rng(5), cfg)
    _, right = cf.pool_oracle(d["x"], *cfg.args, d["dout"])
    variants = dg.backward_variants(cfg, d["x"], d["dout"])
    wrong = _hint_of(variants, text)
    assert not np.allclose(wrong, right)
    assert text in dg.value_hint(wrong, right, variants)


def test_overwriting_is_invisible_without_overlap():
    """The assignment mistakes equal the right answer where windows do not overlap, so they are
    judged (and named) only by backward_overlap."""
    for cfg in cf.DISJOINT:
        d = cf.make_inputs(np.random.default_rng(6), cfg)
        _, right = cf.pool_oracle(d["x"], *cfg.args, d["dout"])
        for mode in ("assign", "assign_window"):
            np.testing.assert_allclose(dg._route(cfg, d["x"], d["dout"], mode=mode), right)
    for cfg in cf.OVERLAPPING:                          # ... and visible where they do
        d = cf.make_inputs(np.random.default_rng(6), cfg)
        _, right = cf.pool_oracle(d["x"], *cfg.args, d["dout"])
        assert not np.allclose(dg._route(cfg, d["x"], d["dout"], mode="assign"), right)


def test_judge_names_the_feature_only_failures_share():
    cases = [(c,) for c in cf.CONFIGS]

    def overlap_only(case):
        if case[0].overlaps:
            raise Fail("dx is wrong")

    with pytest.raises(Fail, match="every wrong one has overlapping windows") as exc:
        dg.judge(cases, overlap_only, "dx")
    assert "ADD their gradients" in str(exc.value) and "Wrong on 5 of 10" in str(exc.value)
    with pytest.raises(Fail) as exc:                    # not claimed when some case was not judged
        dg.judge(cases, overlap_only, "dx", patterns=False)
    assert "every wrong one" not in str(exc.value)


def test_a_crash_on_a_later_configuration_keeps_the_earlier_diagnosis(tmp_path):
    """ceil_output_size.py raises on the 1x1 pool (an empty last window) after computing wrong
    sizes on the others: the check names the ceiling and mentions the crash."""
    (tmp_path / EXERCISE.filename).write_text((SUBMISSIONS / "ex11" / "ceil_output_size.py").read_text())
    result = grade_file("ex11", tmp_path, perf=False)
    msg = next(c for c in result.checks if c.name == "edge_configs").message
    assert "rounded up" in msg and "Besides, maxpool_" in msg and "IndexError" in msg


# -- library references --------------------------------------------------------------------------
def test_reference_module_agrees_with_the_oracle():
    import torch
    from grader.exercises.ex11_pool import reference
    for cfg in (cf.CONFIGS[5], cf.EDGE_CONFIGS[2]):
        d = cf.make_inputs(np.random.default_rng(7), cfg)
        out, dx = cf.pool_oracle(d["x"], *cfg.args, d["dout"])
        got, cache = reference.maxpool_forward(torch.from_numpy(d["x"]), *cfg.args)
        np.testing.assert_array_equal(got.numpy(), out)
        got_dx = reference.maxpool_backward(torch.from_numpy(d["dout"]), cache)
        np.testing.assert_allclose(got_dx.numpy(), dx, rtol=1e-12, atol=1e-12)


def test_timing_references_agree_with_the_oracle():
    import torch
    from grader.checks.references import REFERENCES, run
    cfg = cf.CONFIGS[5]
    d = cf.make_inputs(np.random.default_rng(8), cfg)
    out, dx = cf.pool_oracle(d["x"], *cfg.args, d["dout"])
    x, dout = torch.from_numpy(d["x"]), torch.from_numpy(d["dout"])
    kw = {"pool_height": cfg.ph, "pool_width": cfg.pw, "stride": cfg.s}
    np.testing.assert_array_equal(run(REFERENCES["max_pool2d"](x, **kw)).numpy(), out)
    for name in ("max_pool2d_grad", "max_pool2d_pair"):
        (got,) = run(REFERENCES[name](x, dout, **kw))
        np.testing.assert_allclose(got.numpy(), dx, rtol=1e-12, atol=1e-12)


# -- the runtime guard and the static scan --------------------------------------------------------
def _matched(name: str) -> bool:
    return name.split(".")[0].startswith(EXERCISE.forbidden_ops)


def test_forbidden_ops_cover_every_aten_max_pooling_of_this_torch():
    torch = pytest.importorskip("torch")
    names = {n.split(".")[0] for n in torch._C._dispatch_get_all_op_names() if n.startswith("aten::")}
    pools = {n for n in names if "max_pool" in n or "max_unpool" in n}
    assert "aten::max_pool2d_with_indices" in pools and "aten::max_pool2d_with_indices_backward" in pools
    missed = sorted(n for n in pools if not _matched(n))
    assert not missed, f"aten max-pooling operators the guard lets through: {missed}"
    for allowed in ("aten::max", "aten::amax", "aten::argmax", "aten::unfold", "aten::scatter_add",
                    "aten::scatter_add_", "aten::index_put_", "aten::index_add", "aten::maximum",
                    "aten::gather", "aten::as_strided", "aten::constant_pad_nd", "aten::avg_pool2d"):
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


def test_guard_refuses_max_pooling_however_reached_and_allows_the_exercise():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64)
    refused = {
        "F.max_pool2d": lambda: F.max_pool2d(x, 2),
        "getattr(torch, 'max_' + 'pool2d')": lambda: getattr(torch, "max_" + "pool2d")(x, (2, 2)),
        "torch.ops.aten.max_pool2d_with_indices": lambda: torch.ops.aten.max_pool2d_with_indices(x, [2, 2]),
        "nn.MaxPool2d": lambda: torch.nn.MaxPool2d(3, 2)(x),
        "F.adaptive_max_pool2d": lambda: F.adaptive_max_pool2d(x, 3),
        "F.fractional_max_pool2d": lambda: F.fractional_max_pool2d(x, 2, output_size=3),
        "F.max_unpool2d": lambda: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
        "requires_grad_ + backward": lambda: (x.clone().requires_grad_() * 2).sum().backward(),
    }
    missed = [name for name, fn in refused.items() if not _refused(fn)]
    assert not missed, f"not refused: {missed}"
    allowed = {
        "unfold + amax": lambda: x.unfold(2, 3, 2).unfold(3, 3, 2).amax(dim=(4, 5)),
        "max(dim) + scatter_add_": lambda: torch.zeros(2, 3, 49, dtype=torch.float64).scatter_add_(
            2, x.reshape(2, 3, 49).max(dim=2, keepdim=True)[1], torch.ones(2, 3, 1, dtype=torch.float64)),
        "index_put_ accumulate": lambda: torch.zeros(5, dtype=torch.float64).index_put_(
            (torch.tensor([1, 1]),), torch.ones(2, dtype=torch.float64), accumulate=True),
        "F.pad": lambda: F.pad(x, (1, 1, 1, 1)),
    }
    blocked = {name: _refused(fn) for name, fn in allowed.items()}
    assert not any(blocked.values()), f"wrongly refused: {blocked}"


@pytest.mark.parametrize("source, found", [
    ("import torch.nn.functional as F\ndef f(x):\n    return F.pad(x, (1, 1))\n", None),
    ("import torch.nn.functional as F\ny = F.max_pool2d(x, 2)\n", "torch.nn.functional.max_pool2d"),
    ("import torch\ny = torch.max_pool2d(x, 2)\n", "torch.max_pool2d"),
    ("import torch\nm = torch.nn.MaxPool2d(2)\n", "torch.nn.MaxPool2d"),
    ("from torch.nn import AdaptiveMaxPool2d\n", "torch.nn.AdaptiveMaxPool2d"),
    ("import torch\ny = x.unfold(2, 2, 2).amax(dim=-1)\n", None),
])
def test_static_scan_allows_pad_and_plain_operations_only(source, found):
    e = EXERCISE
    findings = static.scan(source, forbidden_imports=e.forbidden_imports,
                           forbidden_calls=e.forbidden_calls, allowed_calls=e.config["allowed_calls"])
    assert (findings == []) if found is None else (findings and findings[0].name == found)


# -- whole-exercise behaviour -------------------------------------------------------------------
def test_a_loop_over_positions_passes_every_correctness_check(tmp_path):
    (tmp_path / EXERCISE.filename).write_text((SUBMISSIONS / "ex11" / "looped_positions.py").read_text())
    result = grade_file("ex11", tmp_path, seed=11, perf=False)
    judged = [c for c in result.checks if c.kind != "performance" and c.status != "skip"]
    assert all(c.status == "pass" for c in judged), [(c.name, c.message[:200]) for c in judged
                                                     if c.status != "pass"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 11, 12345])
@pytest.mark.parametrize("where", ["solutions", "autotests/submissions/ex11/correct_offsets_loop.py",
                                   "autotests/submissions/ex11/correct_unfold_index_put.py"])
def test_correct_code_gets_full_marks_at_any_seed(seed, where, tmp_path):
    src = ROOT / where
    if src.is_file():
        (tmp_path / EXERCISE.filename).write_text(src.read_text())
        src = tmp_path
    result = grade_file("ex11", src, seed=seed, perf=False)
    assert not [(c.name, c.message[:300]) for c in result.checks if c.status not in ("pass", "skip")]


@pytest.mark.gpu
def test_cuda_checks_pass_on_the_solution():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    import dataclasses
    from grader.engine import Options, grade
    ex = dataclasses.replace(EXERCISE, checks=tuple(c for c in EXERCISE.checks
                                                    if c.name in ("cuda_values", "cuda_performance")))
    report = grade([ex], ROOT / "solutions", Options(seed=5, device="cuda"))
    assert not [(c.name, c.status, c.message) for c in report.exercises[0].checks if c.status != "pass"]


def test_functions_that_return_nothing_score_zero(tmp_path):
    skeleton = (ROOT / "exercises" / EXERCISE.filename).read_text()
    (tmp_path / EXERCISE.filename).write_text(
        "\n".join("    pass" if "raise NotImplementedError" in line else line
                  for line in skeleton.splitlines()))
    result = grade_file("ex11", tmp_path, perf=False)
    assert result.score == 0, [(c.name, c.status) for c in result.checks if c.status == "pass"]
