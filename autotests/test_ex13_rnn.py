"""ex13 recurrent network and clipping: the oracles, the recognisers behind the hints, the guard.

The submissions in autotests/submissions/ex13/ test the checks end to end; these tests pin the
pieces a verdict or a message comes from: the oracles against the contract's formulas (and
torch.nn.RNN), every recogniser against the mistake it names, the clipping cases against the
issue's list, the library references against the oracles, and the runtime guard.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, SUBMISSIONS, grade_file
from grader.checks import static
from grader.checks.gradients import numerical_gradient
from grader.exercises.ex13_rnn import EXERCISE
from grader.exercises.ex13_rnn import configs as cf
from grader.exercises.ex13_rnn import diagnose as dg


@pytest.fixture
def inp():
    return cf.make_inputs(np.random.default_rng(0), 3, 5, 4, 6)


def test_oracle_is_the_recurrence_and_torch_nn_rnn(inp):
    import torch
    out = cf.rnn_oracle(inp)["h"]
    np.testing.assert_allclose(out, dg.variant_forward(inp), rtol=1e-12, atol=1e-14)
    rnn = torch.nn.RNN(4, 6, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(inp["Wx"].T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(inp["Wh"].T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(inp["b"]))
        rnn.bias_hh_l0.zero_()
        h, _ = rnn(torch.from_numpy(inp["x"]), torch.from_numpy(inp["h0"])[None])
    np.testing.assert_allclose(out, h.numpy(), rtol=1e-12, atol=1e-14)


def test_oracle_gradients_are_central_differences_and_the_recognisers_baseline(inp):
    dh = np.random.default_rng(1).normal(size=(3, 5, 6))
    grads = cf.rnn_oracle(inp, dh)
    base = dg.variant_backward(inp, dh)
    for name, grad in zip(cf.FWD_PARAMS, cf.GRADS):
        coords = [tuple(int(i) for i in np.unravel_index(k, inp[name].shape))
                  for k in range(inp[name].size)]
        num, _ = numerical_gradient(lambda pts: [dg.variant_forward(p) for p in pts], inp, name, dh,
                                    coords)
        np.testing.assert_allclose(grads[grad], num.reshape(inp[name].shape), rtol=1e-6, atol=1e-8,
                                   err_msg=grad)
        np.testing.assert_allclose(base[grad], grads[grad], rtol=1e-10, atol=1e-12, err_msg=grad)


def test_configs_cover_the_issue():
    ts = [t for _, t, _, _ in cf.CONFIGS]
    assert min(ts) == 1 and max(ts) >= 10
    assert all(d != h for _, _, d, h in cf.CONFIGS)
    assert any(n == 1 for n, *_ in cf.CONFIGS) and any(h == 1 for *_, h in cf.CONFIGS)
    assert all(t >= 3 for _, t, _, _ in cf.LONG)
    inp = cf.make_inputs(np.random.default_rng(2), 2, 3, 4, 5)
    assert not np.allclose(inp["Wh"], inp["Wh"].T)


def test_saturated_inputs_saturate_and_break_tanh_written_with_exp():
    inp = cf.saturated_inputs(np.random.default_rng(3), 3, 4, 2, 5)
    a = inp["x"][:, 0] @ inp["Wx"] + inp["h0"] @ inp["Wh"] + inp["b"]
    assert np.abs(a[:, :3]).min() > 5e2 and np.abs(a[:, 3:]).max() < 50
    with np.errstate(all="ignore"):
        naive = (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))
    assert np.isnan(naive).any()
    grads = cf.rnn_oracle(inp, np.ones((3, 4, 5)))
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    assert np.any(grads["dWx"]) and not np.any(grads["db"][:3])     # gradient flows elsewhere


@pytest.mark.parametrize("mode", list(dg.FORWARD_HINTS))
def test_forward_recognisers_name_their_mistake(inp, mode):
    wrong = dg.variant_forward(inp, mode)
    assert not dg.matches(wrong, dg.variant_forward(inp))
    assert dg.forward_hint(inp, wrong) == dg.FORWARD_HINTS[mode]
    assert dg.forward_hint(inp, dg.variant_forward(inp)) == ""


@pytest.mark.parametrize("mode", list(dg.BACKWARD_HINTS))
def test_backward_recognisers_name_their_mistake(inp, mode):
    dh = np.random.default_rng(4).normal(size=(3, 5, 6))
    right, wrong = dg.variant_backward(inp, dh), dg.variant_backward(inp, dh, mode)
    differ = [g for g in cf.GRADS if not dg.matches(wrong[g], right[g])]
    assert differ, f"{mode} gives the right gradients"
    for name in differ:
        assert dg.backward_hint(inp, dh, name, wrong[name]) == dg.BACKWARD_HINTS[mode], (mode, name)


def test_backward_hint_names_transposed_and_averaged_weights(inp):
    dh = np.random.default_rng(5).normal(size=(3, 5, 6))
    right = dg.variant_backward(inp, dh)
    assert "transposed" in dg.backward_hint(inp, dh, "dWh", right["dWh"].T)
    assert "divided by N*T = 15" in dg.backward_hint(inp, dh, "db", right["db"] / 15)
    assert dg.backward_hint(inp, dh, "dWx", right["dWx"] + 1.0) == ""


# -- clipping -----------------------------------------------------------------------------------
def test_clip_oracle_is_the_contract_formula_and_the_cases_cover_the_issue():
    cases = cf.clip_cases(np.random.default_rng(6))
    eps_matters = below_scales = unchanged = per_tensor_differs = 0
    for _, grads, max_norm in cases:
        clipped, total = cf.clip_oracle(grads, max_norm)
        want_total = np.sqrt(sum(np.sum(g * g) for g in grads))
        coef = min(1.0, max_norm / (want_total + 1e-6))
        assert np.isclose(total, want_total, rtol=1e-12)
        for c, g in zip(clipped, grads):
            np.testing.assert_allclose(c, g * coef, rtol=1e-12, atol=0)
        if want_total > 0 and not np.isclose(min(1.0, max_norm / want_total), coef, rtol=1e-3):
            eps_matters += 1
        below_scales += want_total < max_norm and coef < 0.99
        unchanged += coef == 1.0
        per = [min(1.0, max_norm / (np.sqrt(np.sum(g * g)) + 1e-6)) for g in grads]
        per_tensor_differs += len(grads) > 1 and not np.allclose(per, coef)
    assert eps_matters >= 2 and below_scales == 1 and unchanged >= 2 and per_tensor_differs >= 2
    assert any(not np.any(np.concatenate([g.ravel() for g in gs])) for _, gs, _ in cases)
    assert any(len(gs) == 1 for _, gs, _ in cases)


def _per_case(cases, make_variant):
    out = []
    for _, grads, max_norm in cases:
        right, _ = cf.clip_oracle(grads, max_norm)
        variants = dg.clip_variants(grads, max_norm)
        out.append([(None, make_variant(grads, max_norm, variants)), (None, right)] + variants)
    return out


def _same(a, b):
    return all(np.allclose(x, y, rtol=1e-6, atol=0) for x, y in zip(a, b))


@pytest.mark.parametrize("text", ["its own norm", "even when their norm is below", "without the 1e-6",
                                  "total_norm + 1e-08", "only when total_norm > max_norm"])
def test_clip_hint_is_the_mistake_consistent_with_every_case(text):
    cases = cf.clip_cases(np.random.default_rng(7))

    def student(grads, max_norm, variants):      # the zeros case has no no-eps variant: right there
        return next((v for h, v in variants if text in h), [g.copy() for g in grads])

    assert text in dg.consistent_hint(_per_case(cases, student), _same)


def test_clip_hint_names_every_mistake_the_cases_cannot_tell_apart():
    same = lambda a, b: a == b  # noqa: E731
    both = [[(None, 1), (None, 0), ("A", 1), ("B", 1), ("C", 2)]]
    assert dg.consistent_hint(both, same) == ("one of these (they give the same numbers on every "
                                              "case here): A; or B")
    two = both + [[(None, 5), (None, 5), ("A", 5), ("B", 6)]]          # B contradicted by case 2
    assert dg.consistent_hint(two, same) == "A"
    none = [[(None, 1), (None, 0), ("A", 1), ("B", 1)], [(None, 7), (None, 5), ("A", 8), ("B", 9)]]
    assert dg.consistent_hint(none, same).startswith("one of these (they give the same numbers here)")
    assert dg.consistent_hint([[(None, 0), (None, 0), ("A", 1)]], same) == ""


def test_norm_candidates_name_the_usual_wrong_norms():
    grads = [np.array([3.0, 4.0]), np.array([12.0])]          # norms 5 and 12, total 13
    hints = dict((round(v, 6), h) for h, v in dg.norm_candidates(grads, 2.0, grads))
    assert "sum of the tensors' norms" in hints[17.0] and "squared" in hints[169.0]
    assert "largest" in hints[12.0] and "first tensor" in hints[5.0] and "max_norm" in hints[2.0]


# -- library references ---------------------------------------------------------------------------
def test_reference_module_agrees_with_the_oracles(inp):
    import torch
    from grader.exercises.ex13_rnn import reference
    dh = np.random.default_rng(9).normal(size=(3, 5, 6))
    exp = cf.rnn_oracle(inp, dh)
    h, cache = reference.rnn_forward(*(torch.from_numpy(inp[k]) for k in cf.FWD_PARAMS))
    np.testing.assert_allclose(h.numpy(), exp["h"], rtol=1e-12, atol=1e-14)
    for name, g in zip(cf.GRADS, reference.rnn_backward(torch.from_numpy(dh), cache)):
        np.testing.assert_allclose(g.numpy(), exp[name], rtol=1e-10, atol=1e-12, err_msg=name)
    for _, grads, max_norm in cf.clip_cases(np.random.default_rng(10)):
        tensors = [torch.from_numpy(g.copy()) for g in grads]
        clipped, total = reference.clip_grad_norm(tensors, max_norm)
        want, want_total = cf.clip_oracle(grads, max_norm)
        assert total == pytest.approx(want_total, rel=1e-12)
        assert all(np.array_equal(t.numpy(), g) for t, g in zip(tensors, grads))   # inputs kept
        for c, w in zip(clipped, want):
            np.testing.assert_allclose(c.numpy(), w, rtol=1e-12, atol=0)


def test_timing_references_agree_with_the_oracles(inp):
    import torch
    from grader.checks.references import REFERENCES, run
    dh = np.random.default_rng(11).normal(size=(3, 5, 6))
    exp = cf.rnn_oracle(inp, dh)
    tensors = [torch.from_numpy(inp[k]) for k in cf.FWD_PARAMS]
    h, _ = run(REFERENCES["rnn"](*tensors))
    np.testing.assert_allclose(h.numpy(), exp["h"], rtol=1e-12, atol=1e-14)
    for name in ("rnn_grad", "rnn_pair"):
        grads = run(REFERENCES[name](*tensors, torch.from_numpy(dh)))
        # x, h0, then the module's weight_ih (= Wx.T), weight_hh (= Wh.T), bias_ih, bias_hh
        for got, want in zip(grads[:4], (exp["dx"], exp["dh0"], exp["dWx"].T, exp["dWh"].T)):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads[4].numpy(), exp["db"], rtol=1e-10, atol=1e-12)
    grads = [np.random.default_rng(12).normal(size=(4, 3)) * 3, np.ones(2)]
    steps = REFERENCES["clip_grad_norm"]([torch.from_numpy(g) for g in grads], 1.0)
    total = run(steps)
    want, want_total = cf.clip_oracle(grads, 1.0)
    assert float(total) == pytest.approx(want_total)
    np.testing.assert_allclose(steps[0].args[0][0].grad.numpy(), want[0], rtol=1e-12)


# -- the runtime guard and the static scan --------------------------------------------------------
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


def test_guard_refuses_torch_rnns_however_reached_and_allows_the_exercise():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    h0 = torch.randn(1, 2, 5, generator=g, dtype=torch.float64)
    w_ih = torch.randn(5, 4, generator=g, dtype=torch.float64)
    w_hh = torch.randn(5, 5, generator=g, dtype=torch.float64)
    b = torch.zeros(5, dtype=torch.float64)
    params = [w_ih, w_hh, b, b]
    refused = {
        "torch.rnn_tanh": lambda: torch.rnn_tanh(x, h0, params, True, 1, 0.0, False, False, True),
        "getattr": lambda: getattr(torch, "rnn_" + "tanh")(x, h0, params, True, 1, 0.0, False, False, True),
        "torch.ops.aten.rnn_tanh": lambda: torch.ops.aten.rnn_tanh.input(x, h0, params, True, 1, 0.0,
                                                                        False, False, True),
        "torch.rnn_tanh_cell": lambda: torch.rnn_tanh_cell(x[:, 0], h0[0], w_ih, w_hh, b, b),
        "torch._VF.rnn_tanh": lambda: torch._VF.rnn_tanh(x, h0, params, True, 1, 0.0, False, False, True),
        "nn.RNN": lambda: torch.nn.RNN(4, 5, batch_first=True, dtype=torch.float64)(x),
        "nn.GRU": lambda: torch.nn.GRU(4, 5, batch_first=True, dtype=torch.float64)(x),
        "clip_grad_norm_ (foreach)": lambda: _clip_with_torch(torch, x),
        "requires_grad_ + backward": lambda: (x.clone().requires_grad_() * 2).sum().backward(),
    }
    missed = [name for name, fn in refused.items() if not _refused(fn)]
    assert not missed, f"not refused: {missed}"
    allowed = {
        "the recurrence": lambda: torch.tanh(x[:, 0] @ w_ih.T + h0[0] @ w_hh.T + b),
        "einsum + cat + stack": lambda: torch.einsum("ntd,hd->nth", torch.stack([x[:, 0], x[:, 1]], 1), w_ih),
        "norms": lambda: (torch.linalg.vector_norm(torch.cat([x.reshape(-1), b])), x.norm(),
                          torch.sqrt((x * x).sum())),
        "clamp": lambda: torch.clamp(torch.tensor(3.0) / (x.norm() + 1e-6), max=1.0),
    }
    blocked = {name: _refused(fn) for name, fn in allowed.items()}
    assert not any(blocked.values()), f"wrongly refused: {blocked}"


def _clip_with_torch(torch, x):
    holder = torch.zeros_like(x)
    holder.grad = x.clone()
    return torch.nn.utils.clip_grad_norm_([holder], 1.0)


@pytest.mark.parametrize("source, found", [
    ("import torch\nm = torch.nn.RNN(3, 4)\n", "torch.nn.RNN"),
    ("import torch\nh = torch.rnn_tanh(x, h0, p, True, 1, 0.0, False, False, True)\n", "torch.rnn_tanh"),
    ("import torch\ntorch.nn.utils.clip_grad_norm_(ps, 1.0)\n", "torch.nn.utils.clip_grad_norm_"),
    ("from torch.nn.utils import clip_grad_norm_\n", "torch.nn.utils.clip_grad_norm_"),
    ("import torch.nn.functional as F\nh = F.linear(x, w)\n", "torch.nn.functional.linear"),
    ("import torch\nn = torch.linalg.vector_norm(g)\nh = torch.tanh(x @ Wx)\n", None),
])
def test_static_scan(source, found):
    e = EXERCISE
    findings = static.scan(source, forbidden_imports=e.forbidden_imports,
                           forbidden_calls=e.forbidden_calls)
    assert (findings == []) if found is None else found in [f.name for f in findings]


# -- whole-exercise behaviour -------------------------------------------------------------------
def test_a_zero_dimensional_total_norm_is_accepted(tmp_path):
    """The contract accepts a 0-d tensor as total_norm (correct_stacked_states.py returns one);
    the wire format sends it with shape (1,), which the check accepts too."""
    (tmp_path / EXERCISE.filename).write_text(
        (SUBMISSIONS / "ex13" / "correct_stacked_states.py").read_text())
    result = grade_file("ex13", tmp_path, perf=False)
    assert {c.name: c.status for c in result.checks}["clip_norm"] == "pass"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 11, 12345])
@pytest.mark.parametrize("where", ["solutions", "autotests/submissions/ex13/correct_loop_over_time.py",
                                   "autotests/submissions/ex13/correct_stacked_states.py"])
def test_correct_code_gets_full_marks_at_any_seed(seed, where, tmp_path):
    src = ROOT / where
    if src.is_file():
        (tmp_path / EXERCISE.filename).write_text(src.read_text())
        src = tmp_path
    result = grade_file("ex13", src, seed=seed, perf=False)
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
    """Regression: clip_untouched used to pass for a clip_grad_norm whose body is `pass` (its
    inputs are trivially unchanged); every check now requires the contract's return values."""
    skeleton = (ROOT / "exercises" / EXERCISE.filename).read_text()
    (tmp_path / EXERCISE.filename).write_text(
        "\n".join("    pass" if "raise NotImplementedError" in line else line
                  for line in skeleton.splitlines()))
    result = grade_file("ex13", tmp_path, perf=False)
    assert result.score == 0, [(c.name, c.status) for c in result.checks if c.status == "pass"]
