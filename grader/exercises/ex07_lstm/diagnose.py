"""ex07's recognisers of the usual mistakes: they choose hints, never verdicts (the oracle does)."""
from __future__ import annotations

import itertools

import numpy as np

from grader.exercises.ex07_lstm.oracles import GATE_WORDS, GATES, MATCH, _sigmoid, variant_forward


def _matches(got, expected) -> bool:
    return got.shape == expected.shape and bool(np.allclose(got, expected, **MATCH))


def describe_order(order) -> str:
    """``(0, 1, 3, 2)`` -> ``"i, f, g, o"``: the gate each block of ``a`` was used as."""
    return ", ".join(GATES[order.index(k)] for k in range(4))


def _order_hint(order) -> str:
    read = describe_order(order)
    torch_note = " (that is PyTorch's nn.LSTM layout)" if read == "i, f, g, o" else ""
    return (f"you read the four blocks of a = x@Wx + prev_h@Wh + b as {read}{torch_note}; the "
            "contract's order is i, f, o, g: i = sigmoid(a[:, :H]), f = sigmoid(a[:, H:2H]), "
            "o = sigmoid(a[:, 2H:3H]), g = tanh(a[:, 3H:])")


FORWARD_VARIANTS = (
    ({"h_act": "none"}, "next_h = o * next_c: the tanh is missing; next_h = o * tanh(next_c)"),
    ({"h_act": "outer"}, "you computed tanh(o * next_c); it is o * tanh(next_c)"),
    ({"g_act": "sigmoid"}, "g went through a sigmoid; the candidate g = tanh(a_g) (range -1..1)"),
    ({"forget": False}, "next_c = prev_c + i * g forgets the forget gate: next_c = f * prev_c + i * g"),
    ({"cell_from": "prev_h"}, "the forget gate multiplies prev_h; it must multiply prev_c"),
    ({"bias": False}, "the bias b is missing from a = x @ Wx + prev_h @ Wh + b"),
)


def forward_hint(inp: dict, got_h: np.ndarray | None, got_c: np.ndarray | None, which: str) -> str:
    """The most specific hint for a wrong ``which`` (``"next_h"``/``"next_c"``) output."""
    got = got_h if which == "next_h" else got_c
    for order in itertools.permutations(range(4)):
        if order == (0, 1, 2, 3):
            continue
        vh, vc = variant_forward(inp, order)
        ok_c = got_c is not None and _matches(got_c, vc)
        ok_h = got_h is not None and _matches(got_h, vh)
        if (which == "next_c" and ok_c and (got_h is None or ok_h)) or (which == "next_h" and ok_h):
            return _order_hint(order)
    for kwargs, hint in FORWARD_VARIANTS:
        vh, vc = variant_forward(inp, **kwargs)
        if _matches(got, vh if which == "next_h" else vc):
            return hint
    if which == "next_c":
        # a gate order mistake that only next_c shows (next_h wrong in another way too)
        for order in itertools.permutations(range(4)):
            if order != (0, 1, 2, 3) and _matches(got_c, variant_forward(inp, order)[1]):
                return _order_hint(order)
        return "next_c = f * prev_c + i * g with i, f = sigmoid of blocks 0 and 1, g = tanh of block 3"
    return "next_h = o * tanh(next_c) with o = sigmoid(a[:, 2H:3H])"


def _blocks(a: np.ndarray, h: int) -> list[np.ndarray]:
    return [a[..., k * h:(k + 1) * h] for k in range(4)]


def _cols_text(k: int) -> str:
    lo = "" if k == 0 else (f"{k}H" if k > 1 else "H")
    hi = {0: "H", 1: "2H", 2: "3H", 3: "4H"}[k]
    return f"columns {lo}:{hi}"


BLOCK_HINTS = {
    "i": "di = dc * g, then da_i = di * i * (1 - i)",
    "f": "df = dc * prev_c, then da_f = df * f * (1 - f)",
    "o": "do = dnext_h * tanh(next_c), then da_o = do * o * (1 - o)",
    "g": "dg = dc * i, then da_g = dg * (1 - g**2) (tanh' written with the saved g)",
}


def weight_hint(got: np.ndarray, exp: np.ndarray, h: int, what: str, n: int) -> str:
    """Which gate blocks of dWx/dWh/db are wrong, and the usual cause."""
    g_blocks, e_blocks = _blocks(got, h), _blocks(exp, h)
    for order in itertools.permutations(range(4)):
        if order != (0, 1, 2, 3) and all(_matches(g_blocks[k], e_blocks[order[k]]) for k in range(4)):
            return (f"the four blocks of {what} hold the gradients of the gates in the order "
                    f"{', '.join(GATES[order[k]] for k in range(4))}; stack da in the contract's "
                    "order i, f, o, g (the order the forward reads a)")
    denom = float(np.sum(exp * exp))
    if denom > 0 and n > 1:
        k = float(np.sum(got * exp)) / denom
        if np.isclose(k, 1.0 / n, rtol=1e-6) and _matches(got, k * exp):
            return f"{what} is divided by N = {n}: the weights are shared by the batch, so sum over it"
    wrong = [GATES[k] for k in range(4) if not _matches(g_blocks[k], e_blocks[k])]
    if not wrong or len(wrong) == 4:
        return ""
    where = "; ".join(f"{GATE_WORDS[gate]} ({_cols_text(GATES.index(gate))})" for gate in wrong)
    right = ", ".join(gate for gate in GATES if gate not in wrong)
    msg = f"only these gate blocks of {what} are wrong: {where} (the blocks of {right} are right). "
    if sorted(wrong) == ["f", "g", "i"]:
        return msg + ("i, f and g all receive dc, the gradient reaching next_c, so dc is wrong: "
                      "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)")
    return msg + "Check " + "; ".join(BLOCK_HINTS[gate] for gate in wrong)


def _dc_with_tanh_grad_of_c(inp: dict, case: dict) -> np.ndarray:
    """The usual wrong dc, with tanh'(next_c) written as 1 - next_c**2 (a recogniser)."""
    h = inp["prev_h"].shape[1]
    o = _sigmoid((inp["x"] @ inp["Wx"] + inp["prev_h"] @ inp["Wh"] + inp["b"])[:, 2 * h:3 * h])
    _, next_c = variant_forward(inp)
    return case["dnext_c"] + case["dnext_h"] * o * (1 - next_c ** 2)
