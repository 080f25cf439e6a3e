"""ex08 self-attention: the oracle, the input design, the recognisers behind the hints, the guard.

The submissions in autotests/submissions/ex08/ test the checks end to end; these tests pin the
pieces a wrong message would come from.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import ROOT, grade_file
from grader.checks.gradients import numerical_gradient
from grader.exercises.ex08_attention import EXERCISE
from grader.exercises.ex08_attention import checks as ex
from grader.exercises.ex08_attention import oracles


@pytest.fixture
def inp():
    return ex.make_inputs(np.random.default_rng(0), 2, 5, 6, 3, 4)


@pytest.mark.parametrize("causal", [False, True])
def test_oracle_is_the_contract_formula(inp, causal):
    np.testing.assert_allclose(ex.oracle(inp, causal)["out"], ex.variant_forward(inp, causal),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("causal", [False, True])
def test_oracle_gradients_are_central_differences_of_the_formula(inp, causal):
    dout = np.random.default_rng(1).normal(size=(2, 5, 4))
    grads = ex.oracle(inp, causal, dout)
    for name, grad in zip(ex.FWD_PARAMS, ex.GRADS):
        coords = [tuple(int(i) for i in np.unravel_index(k, inp[name].shape))
                  for k in range(inp[name].size)]
        num, _ = numerical_gradient(lambda pts: [ex.variant_forward(p, causal) for p in pts],
                                    inp, name, dout, coords)
        np.testing.assert_allclose(grads[grad], num.reshape(inp[name].shape), rtol=1e-6, atol=1e-8,
                                   err_msg=grad)


def test_configs_keep_the_sizes_apart():
    for n, t, d, dk, dv in ex.CONFIGS + tuple(c for c, _ in ex.BACKWARD_CASES):
        assert len({d, dk, dv}) == 3
        # a factor 1/N must not look like 1/sqrt(dk) or 1/dk
        assert n == 1 or (not math.isclose(n, math.sqrt(dk)) and n != dk)
    assert any(c[1] == 1 for c in ex.CONFIGS) and any(c[0] == 1 for c in ex.CONFIGS)
    assert {causal for _, causal in ex.BACKWARD_CASES} == {False, True}


def test_large_inputs_overflow_an_unshifted_softmax():
    inp = ex.large_inputs(np.random.default_rng(2), 2, 6, 5, 3, 4)
    s = oracles._scores(inp)
    assert math.isclose(np.abs(s).max(), ex.LARGE_SCORE, rel_tol=1e-9)
    with np.errstate(all="ignore"):
        naive = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    assert np.isnan(naive).any()
    assert np.all(np.isfinite(ex.oracle(inp, False)["out"]))


def test_worst_cases_hold_the_scores_they_promise():
    """The deterministic worst cases of the stability and causality checks (issue 12 item 2):
    exactly +-5e3 beside rows of zeros, two close large scores, a causal first row with one key
    scored -5e3, rows whose visible scores lie 1e4 below a future one, and T = 1."""
    rng = np.random.default_rng(3)
    s = oracles._scores(oracles.worst_inputs(rng, False))[0]
    assert math.isclose(np.abs(s).max(), ex.LARGE_SCORE, rel_tol=1e-12)
    assert np.all(s[0] == 0) and np.isclose(s[1, 1] - s[1, 6], 1.0)
    s = oracles._scores(oracles.leak_inputs(rng))[0]
    visible = np.where(np.tril(np.ones((5, 5), bool)), s, -np.inf).max(-1)
    future = np.where(np.triu(np.ones((5, 5), bool), 1), s, -np.inf).max(-1)
    assert np.isclose(s[0, 0], -ex.LARGE_SCORE) and np.isclose(future[1] - visible[1], 1e4)
    assert np.isclose(future[3] - visible[3], ex.LARGE_SCORE)
    assert oracles.leak_inputs(rng, 1)["x"].shape == (1, 1, 5)


@pytest.mark.parametrize("make, causal, shift, text", [
    (lambda r: oracles.worst_inputs(r, False), False, "none", "raw scores"),
    (lambda r: oracles.worst_inputs(r, False), False, "global", "not of the whole tensor"),
    (lambda r: oracles.worst_inputs(r, True), True, "global", "not of the whole tensor"),
    (lambda r: oracles.leak_inputs(r), True, "unmasked", "before the causal mask"),
    (lambda r: oracles.leak_inputs(r, 1), True, "none", "raw scores"),
])
def test_stability_hint_names_the_unstable_softmax(make, causal, shift, text):
    """Each unstable softmax is named by its nan pattern on the first worst case it fails, given
    the cases a submission with that mistake passes."""
    inp = make(np.random.default_rng(4))
    got = ex.variant_forward(inp, causal, shift=shift)
    assert not np.all(np.isfinite(got))
    others = [(oracles.worst_inputs(np.random.default_rng(5), c), c) for c in (False, True)]
    passed = [(i, c) for i, c in others
              if np.all(np.isfinite(ex.variant_forward(i, c, shift=shift)))]
    assert text in ex.stability_hint(inp, causal, got, ex.oracle(inp, causal)["out"], passed)


def test_stability_hint_names_a_finite_mask_and_a_clamp():
    rng = np.random.default_rng(6)
    inp = oracles.leak_inputs(rng)
    s = oracles._scores(inp)
    finite = np.where(np.triu(np.ones((5, 5), bool), 1), s - 1e4, s)
    a = np.exp(finite - finite.max(-1, keepdims=True))
    got = (a / a.sum(-1, keepdims=True)) @ (inp["x"] @ inp["Wv"])
    assert "mask is finite" in ex.stability_hint(inp, True, got, ex.oracle(inp, True)["out"])
    inp = oracles.worst_inputs(rng, False)
    c = np.clip(oracles._scores(inp), -80, 80)
    a = np.exp(c - c.max(-1, keepdims=True))
    got = (a / a.sum(-1, keepdims=True)) @ (inp["x"] @ inp["Wv"])
    assert "clamp" in ex.stability_hint(inp, False, got, ex.oracle(inp, False)["out"])


@pytest.mark.parametrize("causal, kwargs, text", [
    (False, {"factor": 1.0}, "not scaled"),
    (False, {"factor": 1 / 3}, "divided by dk = 3"),
    (False, {"factor": 1 / math.sqrt(6)}, "sqrt(D)"),
    (False, {"axis": -2}, "wrong axis"),
    (False, {"transpose": True}, "transposed"),
    (True, {"mask": "none"}, "is ignored"),
    (True, {"mask": "strict"}, "hides the diagonal"),
    (True, {"mask": "plus1"}, "position t+1"),
    (True, {"mask": "anti"}, "flipped"),
    (True, {"after": True}, "after the softmax"),
    (True, {"factor": 1.0}, "not scaled"),
])
def test_forward_hint_names_the_mistake(inp, causal, kwargs, text):
    with np.errstate(all="ignore"):
        got = ex.variant_forward(inp, causal, **kwargs)
    assert text in ex.forward_hint(inp, causal, np.nan_to_num(got, nan=0.0))


def test_scale_hint_tells_batch_mean_from_missing_scale():
    exp = np.random.default_rng(3).normal(size=(6, 3))
    assert "divided by N = 2" in ex.scale_hint(exp / 2, exp, "dWv", 2, 4)
    assert "sqrt(dk) = 1.732 times too large" in ex.scale_hint(exp * math.sqrt(3), exp, "dWq", 2, 3)
    assert ex.scale_hint(exp * math.sqrt(3), exp, "dWv", 2, 3) == ""      # dWv has no dk in it
    assert ex.scale_hint(exp + 1, exp, "dWq", 2, 3) == ""


@pytest.mark.parametrize("causal", [False, True])
def test_gradient_variants_differ_from_the_truth_and_add_up(inp, causal):
    dout = np.random.default_rng(4).normal(size=(2, 5, 4))
    case = {"inp": inp, "causal": causal, "dout": dout}
    exp = ex.oracle(inp, causal, dout)
    var = ex.gradient_variants(case)
    np.testing.assert_allclose(var["no_v"]["dx"] + var["only_v"]["dx"], exp["dx"], rtol=1e-10, atol=1e-12)
    for key in ("no_rowsum", "no_scale"):
        assert not np.allclose(var[key]["dWq"], exp["dWq"])
        np.testing.assert_allclose(var[key]["dWv"], exp["dWv"])


# -- the runtime guard with this exercise's operator list ----------------------------------------
@pytest.mark.parametrize("route", ["F.sdpa", "torch.ops.aten", "getattr", "math kernel",
                                   "DisableTorchFunction", "MultiheadAttention", "mha_forward",
                                   "_masked_softmax", "TransformerEncoderLayer"])
def test_guard_refuses_fused_attention_however_it_is_reached(route):
    import torch
    import torch.nn.functional as F
    from grader.runner.guard import ForbiddenOperation, forbidden_ops_guard
    q = torch.randn(2, 5, 4, dtype=torch.float64)

    def hidden():
        with torch._C.DisableTorchFunction():
            return F.scaled_dot_product_attention(q, q, q)

    w = torch.randn(12, 4, dtype=torch.float64)
    calls = {
        "F.sdpa": lambda: F.scaled_dot_product_attention(q, q, q, is_causal=True),
        "torch.ops.aten": lambda: torch.ops.aten.scaled_dot_product_attention(q, q, q),
        "getattr": lambda: getattr(getattr(torch.nn, "functional"), "scaled_dot_product_attention")(q, q, q),
        "math kernel": lambda: torch.ops.aten._scaled_dot_product_attention_math(q, q, q),
        "DisableTorchFunction": hidden,
        "MultiheadAttention": lambda: torch.nn.MultiheadAttention(4, 1, dtype=torch.float64)(q, q, q),
        "mha_forward": lambda: F.multi_head_attention_forward(
            q, q, q, 4, 1, w, torch.zeros(12, dtype=torch.float64), None, None, False, 0.0,
            w[:4], None, need_weights=False),
        "_masked_softmax": lambda: torch.ops.aten._masked_softmax(q, torch.zeros_like(q, dtype=torch.bool)),
        "TransformerEncoderLayer": lambda: torch.nn.TransformerEncoderLayer(
            4, 1, dropout=0.0, dtype=torch.float64).eval()(q),
    }
    with pytest.raises(ForbiddenOperation):
        with forbidden_ops_guard(EXERCISE.forbidden_ops):
            calls[route]()


def test_guard_lets_the_exercise_be_written():
    import torch
    import torch.nn.functional as F
    from grader.runner.guard import forbidden_ops_guard
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    with forbidden_ops_guard(EXERCISE.forbidden_ops):
        s = (x @ x.mT / 2).masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
        a = torch.softmax(s, dim=-1) + F.softmax(s, dim=-1) + torch.exp(s - torch.logsumexp(s, -1, keepdim=True))
        out = torch.einsum("nts,nsd->ntd", a, x)
    assert out.shape == (2, 5, 4)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 11, 12345])
@pytest.mark.parametrize("where", ["solutions", "autotests/submissions/ex08/correct_logsumexp.py",
                                   "autotests/submissions/ex08/correct_loop_over_batch.py"])
def test_correct_code_gets_full_marks_at_any_seed(seed, where, tmp_path):
    src = ROOT / where
    if src.is_file():
        (tmp_path / EXERCISE.filename).write_text(src.read_text())
        src = tmp_path
    result = grade_file("ex08", src, seed=seed, perf=False)
    bad = [(c.name, c.message[:300]) for c in result.checks if c.status not in ("pass", "skip")]
    assert not bad
