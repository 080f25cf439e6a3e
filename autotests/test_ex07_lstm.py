"""ex07 LSTM cell: the oracle's gate mapping, the recognisers behind the hints, the runtime guard.

The submissions in autotests/submissions/ex07/ test the checks end to end; these tests pin the
pieces a wrong message would come from.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, grade_file
from grader.checks.gradients import numerical_gradient
from grader.exercises.ex07_lstm import EXERCISE
from grader.exercises.ex07_lstm import checks as ex
from grader.exercises.ex07_lstm import diagnose

GATE_ORDER_TORCH = (0, 1, 3, 2)


@pytest.fixture
def inp():
    return ex.make_inputs(np.random.default_rng(0), 3, 5, 4)


def test_oracle_is_the_contract_formula_in_gate_order_ifog(inp):
    out = ex.oracle(inp)
    h, c = ex.variant_forward(inp)
    np.testing.assert_allclose(out["next_h"], h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["next_c"], c, rtol=1e-12, atol=1e-14)
    # and the mapping matters: PyTorch's own order read as the contract's gives other numbers
    assert not np.allclose(out["next_c"], ex.variant_forward(inp, GATE_ORDER_TORCH)[1])


def test_oracle_gradients_are_central_differences_of_the_formula(inp):
    rng = np.random.default_rng(1)
    dh, dc = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    grads = ex.oracle(inp, dh, dc)
    dout = np.concatenate([dh.ravel(), dc.ravel()])

    def f(points):
        return [np.concatenate([a.ravel() for a in ex.variant_forward(p)]) for p in points]

    for name, grad in zip(ex.FWD_PARAMS, ex.GRADS):
        coords = [tuple(int(i) for i in np.unravel_index(k, inp[name].shape))
                  for k in range(inp[name].size)]
        num, _ = numerical_gradient(f, inp, name, dout, coords)
        np.testing.assert_allclose(grads[grad], num.reshape(inp[name].shape), rtol=1e-6, atol=1e-8,
                                   err_msg=grad)


def test_saturated_inputs_saturate_and_break_tanh_written_with_exp():
    inp = ex.saturated_inputs(np.random.default_rng(2), 3, 4, 5)
    a = inp["x"] @ inp["Wx"] + inp["prev_h"] @ inp["Wh"] + inp["b"]
    assert np.median(np.abs(a)) > 1e3 and np.abs(a).max() > 5e3
    _, c = ex.variant_forward(inp)
    with np.errstate(all="ignore"):
        naive = (np.exp(c) - np.exp(-c)) / (np.exp(c) + np.exp(-c))
    assert np.isnan(naive).any()
    assert np.all(np.isfinite(ex.oracle(inp)["next_h"]))


@pytest.mark.parametrize("kwargs, which, text", [
    ({"order": GATE_ORDER_TORCH}, "next_c", "PyTorch's nn.LSTM layout"),
    ({"order": (1, 0, 2, 3)}, "next_c", "as f, i, o, g"),
    ({"h_act": "none"}, "next_h", "the tanh is missing"),
    ({"forget": False}, "next_c", "forgets the forget gate"),
    ({"g_act": "sigmoid"}, "next_c", "g went through a sigmoid"),
    ({"bias": False}, "next_h", "bias b is missing"),
    ({"cell_from": "prev_h"}, "next_c", "multiplies prev_h"),
])
def test_forward_hint_names_the_mistake(inp, kwargs, which, text):
    order = kwargs.pop("order", (0, 1, 2, 3))
    h, c = ex.variant_forward(inp, order, **kwargs)
    assert text in ex.forward_hint(inp, h, c, which)


def test_weight_hint_names_blocks_order_and_batch_mean():
    rng = np.random.default_rng(3)
    h, n = 3, 4
    exp = rng.normal(size=(5, 4 * h))
    blocks = diagnose._blocks(exp, h)
    swapped = np.concatenate([blocks[k] for k in GATE_ORDER_TORCH], axis=1)
    assert "order i, f, g, o" in ex.weight_hint(swapped, exp, h, "dWx", n)
    only_g = exp.copy()
    only_g[:, 3 * h:] *= 1.5
    msg = ex.weight_hint(only_g, exp, h, "dWx", n)
    assert "candidate g (columns 3H:4H)" in msg and "1 - g**2" in msg
    dc_wrong = exp.copy()
    for k in (0, 1, 3):
        dc_wrong[:, k * h:(k + 1) * h] += 0.1
    assert "dc is wrong" in ex.weight_hint(dc_wrong, exp, h, "dWx", n)
    assert "divided by N = 4" in ex.weight_hint(exp / n, exp, h, "db", n)


def test_configs_keep_D_and_H_apart():
    assert all(d != h for _, d, h in ex.CONFIGS)
    assert any(n == 1 for n, _, _ in ex.CONFIGS) and any(h == 1 for _, _, h in ex.CONFIGS)


def test_exercise_modules_do_not_import_torch_in_the_grader():
    code = ("import sys; from grader.exercises import all_exercises; all_exercises(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# -- the runtime guard with this exercise's operator list ----------------------------------------
def _lstm_args():
    import torch
    g = torch.Generator().manual_seed(0)
    x, h = torch.randn(2, 3, generator=g, dtype=torch.float64), torch.randn(2, 4, generator=g, dtype=torch.float64)
    w_ih = torch.randn(16, 3, generator=g, dtype=torch.float64)
    w_hh = torch.randn(16, 4, generator=g, dtype=torch.float64)
    return x, h, h.clone(), w_ih, w_hh, torch.zeros(16, dtype=torch.float64)


@pytest.mark.parametrize("route", ["torch.lstm_cell", "torch.ops.aten", "getattr", "torch._VF",
                                   "torch.lstm", "nn.LSTMCell", "torch.rnn_tanh_cell"])
def test_guard_refuses_lstm_however_it_is_reached(route):
    import torch
    from grader.runner.guard import ForbiddenOperation, forbidden_ops_guard
    x, h, c, w_ih, w_hh, b = _lstm_args()
    calls = {
        "torch.lstm_cell": lambda: torch.lstm_cell(x, (h, c), w_ih, w_hh, b, b),
        "torch.ops.aten": lambda: torch.ops.aten.lstm_cell.default(x, [h, c], w_ih, w_hh, b, b),
        "getattr": lambda: getattr(torch, "lstm" + "_cell")(x, (h, c), w_ih, w_hh, b, b),
        "torch._VF": lambda: torch._VF.lstm_cell(x, (h, c), w_ih, w_hh, b, b),
        "torch.lstm": lambda: torch.lstm(x[None], (h[None], c[None]), [w_ih, w_hh, b, b], True, 1,
                                         0.0, False, False, False),
        "nn.LSTMCell": lambda: torch.nn.LSTMCell(3, 4, dtype=torch.float64)(x, (h, c)),
        "torch.rnn_tanh_cell": lambda: torch.rnn_tanh_cell(x, h, w_ih[:4], w_hh[:4], b[:4], b[:4]),
    }
    with pytest.raises(ForbiddenOperation):
        with forbidden_ops_guard(EXERCISE.forbidden_ops):
            calls[route]()


def test_guard_lets_the_exercise_be_written():
    import torch
    from grader.runner.guard import forbidden_ops_guard
    x, h, c, w_ih, w_hh, b = _lstm_args()
    with forbidden_ops_guard(EXERCISE.forbidden_ops):
        a = x @ w_ih.T + h @ w_hh.T + b
        i, f, o, g = a.chunk(4, dim=1)
        nc = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        nh = torch.sigmoid(o) * nc.tanh()
        torch.cat([nh, nc], 1).sum(0)
    assert nh.shape == (2, 4)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 11, 12345])
@pytest.mark.parametrize("where", ["solutions", "autotests/submissions/ex07/correct_chunk_einsum.py",
                                   "autotests/submissions/ex07/correct_loop_over_batch.py"])
def test_correct_code_gets_full_marks_at_any_seed(seed, where, tmp_path):
    src = ROOT / where
    if src.is_file():
        (tmp_path / EXERCISE.filename).write_text(src.read_text())
        src = tmp_path
    result = grade_file("ex07", src, seed=seed, perf=False)
    bad = [(c.name, c.message[:300]) for c in result.checks if c.status not in ("pass", "skip")]
    assert not bad
