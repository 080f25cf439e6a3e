"""ex13 recognisers: the usual RNN and clipping mistakes, recomputed in numpy (grader side).

A hint names a mistake only when the student's numbers equal this recomputation of it on the
input where they failed (and the recomputation differs from the right answer there). The verdict
always comes from the oracles in :mod:`.configs`.
"""
from __future__ import annotations

import numpy as np

#: A variant output "matches" the student's at this tolerance (recognisers only).
MATCH = {"rtol": 1e-6, "atol": 1e-9}


def matches(got, expected) -> bool:
    got, expected = np.asarray(got), np.asarray(expected)
    return got.shape == expected.shape and bool(np.allclose(got, expected, **MATCH))


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# -- forward ------------------------------------------------------------------------------------
FORWARD_HINTS = {
    "h0_every_step": "every step uses h0 as the previous state: h_t = tanh(x_t Wx + h_{t-1} Wh + "
                     "b) with h_{t-1} the state just computed (update prev_h inside the loop)",
    "shifted": "h[:, t] holds the state BEFORE step t (h[:, 0] is h0): h holds h_1..h_T, the states "
               "after each step",
    "no_tanh": "the tanh is missing: h_t = tanh(x_t Wx + h_{t-1} Wh + b)",
    "sigmoid": "the nonlinearity is a sigmoid; a vanilla RNN uses tanh",
    "no_bias": "the bias b is missing",
    "Wh_T": "h_{t-1} is multiplied by Wh.T; the contract's Wh is (H, H) applied as h_{t-1} @ Wh",
}


def variant_forward(inp: dict, mode: str = "") -> np.ndarray:
    """h (N, T, H) of the recurrence with the mistake ``mode`` (a key of FORWARD_HINTS, or ""
    for the contract's formula)."""
    x, h0, Wx, Wh, b = inp["x"], inp["h0"], inp["Wx"], inp["Wh"], inp["b"]
    prev, hs = h0, []
    for t in range(x.shape[1]):
        state = h0 if mode == "h0_every_step" else prev
        a = x[:, t] @ Wx + state @ (Wh.T if mode == "Wh_T" else Wh) + (0.0 if mode == "no_bias" else b)
        new = a if mode == "no_tanh" else (_sigmoid(a) if mode == "sigmoid" else np.tanh(a))
        hs.append(prev if mode == "shifted" else new)
        prev = new
    return np.stack(hs, axis=1)


def forward_hint(inp: dict, got: np.ndarray) -> str:
    right = variant_forward(inp)
    for mode, hint in FORWARD_HINTS.items():
        v = variant_forward(inp, mode)
        if matches(got, v) and not matches(v, right):
            return hint
    return ""


# -- backward -----------------------------------------------------------------------------------
BACKWARD_HINTS = {
    "no_carry": "the gradient from later steps is missing: at step t, h_t receives dh[:, t] PLUS "
                "the gradient flowing back from step t+1 (dnext = da_{t+1} @ Wh.T); use "
                "dh[:, t] + dnext",
    "only_last": "only the last step's upstream gradient dh[:, T-1] is used; every hidden state "
                 "has its own: at step t use dh[:, t] + dnext",
    "carry_no_tanh": "the gradient passed to h_{t-1} skips tanh': it is da_t @ Wh.T with da_t = "
                     "(dh[:, t] + dnext) * (1 - h_t**2), not (dh[:, t] + dnext) @ Wh.T",
    "Wh_not_T": "the gradient passed to h_{t-1} is da_t @ Wh; h_t = tanh(... + h_{t-1} @ Wh), so "
                "it is da_t @ Wh.T",
    "tanh_pre": "tanh'(a) is written as 1 - a**2 with the pre-activation a; it is 1 - tanh(a)**2 "
                "= 1 - h_t**2, with the hidden state",
    "dWh_h_t": "dWh is built from h_t; the step multiplies h_{t-1} by Wh, so dWh += h_{t-1}.T @ "
               "da_t (h0 at the first step)",
    "not_accumulated": "the weight gradients are overwritten at each step (= instead of +=): Wx, "
                       "Wh and b are shared by all steps, so their gradients add up over t",
    "forward_order": "the steps are visited from t = 0 upwards; backpropagation through time runs "
                     "backwards, from t = T-1 down to 0, so that dnext comes from step t+1",
    "dh0_zero": "dh0 is zero: h0 is the previous state of the first step, so dh0 is the gradient "
                "passed back from step 0 (da_0 @ Wh.T)",
    "dh0_before": "dh0 is the gradient reaching h_1 (dh[:, 0] + dnext); h0 gets what step 0 passes "
                  "back: da_0 @ Wh.T",
}


def variant_backward(inp: dict, dh: np.ndarray, mode: str = "") -> dict:
    """The five gradients of backpropagation through time with the mistake ``mode`` (a key of
    BACKWARD_HINTS, or "" for the right ones), from the right forward pass."""
    x, h0, Wx, Wh, b = inp["x"], inp["h0"], inp["Wx"], inp["Wh"], inp["b"]
    N, T, D = x.shape
    h = variant_forward(inp)
    a = np.einsum("ntd,dh->nth", x, Wx) + b
    a[:, 0] += h0 @ Wh
    a[:, 1:] += h[:, :-1] @ Wh
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dnext = np.zeros_like(h0)
    first = None
    for t in (range(T) if mode == "forward_order" else reversed(range(T))):
        up = dh[:, t] if mode != "only_last" or t == T - 1 else 0.0
        dcur = up if mode == "no_carry" else up + dnext
        if t == 0:
            first = dcur
        da = dcur * ((1 - a[:, t] ** 2) if mode == "tanh_pre" else (1 - h[:, t] ** 2))
        dx[:, t] = da @ Wx.T
        hp = h[:, t] if mode == "dWh_h_t" else (h0 if t == 0 else h[:, t - 1])
        if mode == "not_accumulated":
            dWx, dWh, db = x[:, t].T @ da, hp.T @ da, da.sum(0)
        else:
            dWx, dWh, db = dWx + x[:, t].T @ da, dWh + hp.T @ da, db + da.sum(0)
        dnext = dcur @ Wh.T if mode == "carry_no_tanh" else (da @ Wh if mode == "Wh_not_T" else da @ Wh.T)
    dh0 = {"dh0_zero": np.zeros_like(h0), "dh0_before": first}.get(mode, dnext)
    return {"dx": dx, "dh0": dh0, "dWx": dWx, "dWh": dWh, "db": db}


def backward_hint(inp: dict, dh: np.ndarray, name: str, got: np.ndarray) -> str:
    """The mistake that explains a wrong gradient ``name``, if a recogniser reproduces it."""
    right = variant_backward(inp, dh)[name]
    n, t = inp["x"].shape[:2]
    for mode, hint in BACKWARD_HINTS.items():
        v = variant_backward(inp, dh, mode)[name]
        if matches(got, v) and not matches(v, right):
            return hint
    if name in ("dWx", "dWh") and matches(got, right.T) and not matches(right, right.T):
        return f"{name} is transposed: it has the layout of the weight, {name[1:]} @ ... uses it as (in, out)"
    for divisor, what in ((n * t, f"N*T = {n * t}"), (n, f"N = {n}"), (t, f"T = {t}")):
        if name in ("dWx", "dWh", "db") and divisor > 1 and matches(got, right / divisor):
            return (f"{name} is divided by {what}: the weights are shared by every sample and every "
                    "step, so their gradients are sums")
    if not np.any(got) and np.any(right):
        return f"{name} is all zeros"
    return ""


# -- clipping -----------------------------------------------------------------------------------
def _norms(grads):
    return [float(np.sqrt(np.sum(np.square(g)))) for g in grads]


def norm_candidates(grads: list, max_norm: float, clipped: list) -> list[tuple[str, float]]:
    """(hint, total_norm) for the usual ways of getting total_norm wrong, on one case."""
    norms = _norms(grads)
    out = []
    if len(grads) > 1:
        out += [
            ("total_norm is the sum of the tensors' norms; it is ONE 2-norm over all their "
             "elements: sqrt(sum of every squared element)", sum(norms)),
            ("total_norm is the largest tensor's norm; it is one 2-norm over the elements of all "
             "tensors", max(norms)),
            ("total_norm is the norm of the first tensor only; it covers every tensor of the list",
             norms[0]),
        ]
    out += [
        ("total_norm is the squared norm: take the square root of the sum of squares",
         sum(n * n for n in norms)),
        ("total_norm is max_norm; return the norm of the gradients you were given", max_norm),
        ("total_norm is the norm after clipping; return the norm of the gradients as given",
         float(np.sqrt(sum(np.sum(np.square(c)) for c in clipped)))),
    ]
    return out


def consistent_hint(per_case: list[list[tuple[str, object]]], same) -> str:
    """The hint of a recognised mistake whose prediction equals the student's output on EVERY
    case where it can be computed (so a mistake contradicted anywhere is never named; several
    such mistakes are all named), else the hints that explain the first case where the student is
    wrong ("one of these").

    Args:
        per_case: for each case, ``(hint, variant_output)`` candidates, in priority order, plus
            the student's output and the right one as ``(None, got)`` first and
            ``(None, right)`` second.
        same(a, b): whether two outputs are equal within the recognisers' tolerance.
    """
    wrong = [c for c in per_case if not same(c[0][1], c[1][1])]
    if not wrong:
        return ""
    consistent = []
    for hint in dict.fromkeys(h for h, _ in wrong[0][2:]):
        # the mistake's prediction equals the student's output wherever it can be computed
        predicted = [[v for h, v in c[2:] if h == hint] for c in per_case]
        if all(not vs or same(c[0][1], vs[0]) for c, vs in zip(per_case, predicted)):
            consistent.append(hint)
    if len(consistent) == 1:
        return consistent[0]
    if consistent:
        return ("one of these (they give the same numbers on every case here): "
                + "; or ".join(consistent))
    first = [h for h, v in wrong[0][2:] if same(wrong[0][0][1], v) and not same(v, wrong[0][1][1])]
    first = list(dict.fromkeys(first))
    if len(first) > 1:
        return "one of these (they give the same numbers here): " + "; or ".join(first)
    return first[0] if first else ""


def clip_variants(grads: list, max_norm: float) -> list[tuple[str, list]]:
    """(hint, clipped) for the usual clipping mistakes."""
    total = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
    out = []

    def scaled(coef):
        return [g * coef for g in grads]

    out.append(("each tensor is clipped by its own norm; clip_grad_norm scales EVERY tensor by "
                "the same factor min(1, max_norm / (total_norm + 1e-6)), total_norm over all "
                "tensors (per-tensor clipping changes the direction of the update)",
                [g * min(1.0, max_norm / (n + 1e-6)) for g, n in zip(grads, _norms(grads))]))
    out.append(("the gradients are scaled even when their norm is below max_norm: the factor is "
                "min(1, max_norm / (total_norm + 1e-6)), never above 1",
                scaled(max_norm / (total + 1e-6))))
    if total > 0:
        out.append(("the factor is max_norm / total_norm without the 1e-6: torch (and the "
                    "contract) use max_norm / (total_norm + 1e-6), which matters for tiny norms",
                    scaled(min(1.0, max_norm / total))))
    for eps in (1e-7, 1e-8, 1e-12):
        out.append((f"the denominator is total_norm + {eps:g}; the contract (as torch) uses "
                    "total_norm + 1e-6", scaled(min(1.0, max_norm / (total + eps)))))
    out.append(("the gradients are scaled only when total_norm > max_norm; the contract multiplies "
                "by min(1, max_norm / (total_norm + 1e-6)) always, which is below 1 also when "
                "total_norm is just under max_norm",
                scaled(max_norm / (total + 1e-6)) if total > max_norm else [g.copy() for g in grads]))
    return out
