"""ex08's recognisers of the usual mistakes: they choose hints, never verdicts (the oracle does)."""
from __future__ import annotations

import math

import numpy as np

from grader.exercises.ex08_attention.oracles import FWD_PARAMS, MATCH, _scores, variant_forward


def _matches(got: np.ndarray, expected: np.ndarray) -> bool:
    """Equal where ``expected`` is finite (at least one such element)."""
    if got.shape != expected.shape:
        return False
    ok = np.isfinite(expected)
    return bool(ok.any() and np.allclose(got[ok], expected[ok], **MATCH))


def forward_variants(inp: dict, causal: bool) -> list[tuple[dict, str]]:
    dk, d = inp["Wq"].shape[1], inp["x"].shape[2]
    scale = [
        ({"factor": 1.0}, "the scores are not scaled: S = Q @ K^T / sqrt(dk), with dk = "
                          f"{dk} the width of Q and K"),
        ({"factor": 1.0 / dk}, f"the scores are divided by dk = {dk}; divide by sqrt(dk)"),
        ({"factor": 1.0 / np.sqrt(d)}, f"the scores are divided by sqrt(D) = sqrt({d}) (D is x's "
                                       f"width); divide by sqrt(dk) = sqrt({dk}), the width of Q and K"),
        ({"axis": -2}, "the softmax runs over the wrong axis (the queries); each query's weights "
                       "over the keys must sum to 1: softmax over the last axis (dim=-1)"),
        ({"transpose": True}, "your scores are transposed: S[t, s] = q_t . k_s is Q @ K^T "
                              "(K.transpose(-2, -1)), you computed K @ Q^T"),
    ]
    if not causal:
        return scale + [({"mask": "causal"}, "you applied the causal mask with causal=False; "
                                             "mask only when causal is True")]
    return [
        ({"mask": "none"}, "causal=True is ignored: position t must not attend to positions after t"),
        ({"mask": "strict"}, "your mask hides the diagonal too (position t must attend to itself "
                             "and to 0..t-1): mask only s > t, e.g. torch.ones(T, T).triu(1)"),
        ({"mask": "plus1"}, "your mask lets position t see position t+1: mask every s > t, "
                            "e.g. torch.ones(T, T).triu(1) (diagonal=1)"),
        ({"mask": "anti"}, "your mask is flipped: it hides the past and keeps the future. Mask the "
                           "positions s > t (the upper triangle, triu(1)), keep the lower one"),
        ({"after": True}, "you zeroed the future weights after the softmax, so the rows no longer "
                          "sum to 1 and the normaliser still includes the future: set the masked "
                          "scores to -inf before the softmax"),
    ] + scale


def forward_hint(inp: dict, causal: bool, got: np.ndarray) -> str:
    for kwargs, hint in forward_variants(inp, causal):
        with np.errstate(all="ignore"):
            v = variant_forward(inp, causal, **kwargs)
        if _matches(got, v):
            return hint
    return ("out = softmax(Q @ K^T / sqrt(dk)) @ V with the softmax over the last axis"
            + ("; with causal=True the scores at s > t are -inf before the softmax" if causal else ""))


def gradient_variants(case: dict) -> dict:
    """Gradients of the usual backward mistakes, by autograd with a wrong gradient injected.

    Returns name -> {"dx", "dWq", "dWk", "dWv"} for: ``no_scale`` (dS not divided by sqrt(dk)),
    ``no_rowsum`` (softmax backward dS = A * dA,
    without subtracting the row sums), ``only_v``/``no_q``/``no_k``/``no_v`` (dx with paths
    missing; computed from three separate copies of x).
    """
    import torch

    inp, causal = case["inp"], case["causal"]
    leaves = {k: torch.tensor(inp[k], dtype=torch.float64, requires_grad=True) for k in FWD_PARAMS}
    xs = [leaves["x"].detach().clone().requires_grad_(True) for _ in range(3)]
    x, wq, wk, wv = (leaves[k] for k in FWD_PARAMS)
    q, k, v = xs[0] @ wq, xs[1] @ wk, xs[2] @ wv
    s = q @ k.transpose(-2, -1) / math.sqrt(wq.shape[1])
    t = s.shape[-1]
    if causal:
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    a = torch.softmax(s, dim=-1)
    a.retain_grad()
    s.retain_grad()
    out = a @ v
    dout = torch.from_numpy(case["dout"])
    (out * dout).sum().backward(retain_graph=True)
    gq, gk, gv = (xx.grad.numpy().copy() for xx in xs)
    right = {"dWq": wq.grad.numpy().copy(), "dWk": wk.grad.numpy().copy(), "dWv": wv.grad.numpy().copy()}
    r = math.sqrt(wq.shape[1])
    res = {"no_scale": {"dx": r * (gq + gk) + gv, "dWq": r * right["dWq"], "dWk": r * right["dWk"],
                        "dWv": right["dWv"]},
           "no_q": {**right, "dx": gk + gv}, "no_k": {**right, "dx": gq + gv},
           "no_v": {**right, "dx": gq + gk}, "only_v": {**right, "dx": gv}}
    wrong_ds = torch.nan_to_num(a.detach() * a.grad)      # dS = A * dA, the row sums forgotten
    # dS above is w.r.t. the softmax input s (already scaled); carry it back to Q and K.
    # (scalar <s, dS> rather than grad_outputs=dS: same product, no sympy import on first use)
    gq2, gk2, wq2, wk2 = torch.autograd.grad((s * wrong_ds).sum(), [xs[0], xs[1], wq, wk])
    res["no_rowsum"] = {"dx": (gq2 + gk2).numpy() + gv, "dWq": wq2.numpy(), "dWk": wk2.numpy(),
                        "dWv": right["dWv"]}
    return res


def scale_hint(got: np.ndarray, exp: np.ndarray, what: str, n: int, dk: int) -> str:
    """Names the usual constant-factor mistakes when ``got`` is ``exp`` times a constant."""
    denom = float(np.sum(exp * exp))
    if denom == 0:
        return ""
    k = float(np.sum(got * exp)) / denom
    if not _matches(got, k * exp):
        return ""
    r = math.sqrt(dk)
    named = [(-1.0, f"{what} has the wrong sign")]
    if n > 1 and what != "dx":
        named.append((1 / n, f"{what} is divided by N = {n}: the weights are shared by the whole "
                             "batch, so sum over it (and over T)"))
    if what in ("dWq", "dWk"):      # dWv does not pass through the scores
        named += [(r, f"{what} is sqrt(dk) = {r:.4g} times too large: the scores were scaled by "
                      "1/sqrt(dk) in the forward pass, so dS gets the same factor (dS = ... / sqrt(dk))"),
                  (1 / r, f"{what} is divided by sqrt(dk) once too often: apply 1/sqrt(dk) once to dS"),
                  (1 / dk, f"{what} is divided by dk = {dk}; the factor is 1/sqrt(dk)")]
    for factor, text in named:
        if np.isclose(k, factor, rtol=1e-6):
            return text
    return ""


GRAD_HINTS = {
    "dWv": "dV = A^T @ dout (per batch element: A.transpose(-2, -1) @ dout), then dWv = sum over "
           "N and T of x^T dV",
    "dWq": "dS = A * (dA - sum(dA * A, axis=-1)) / sqrt(dk) with dA = dout @ V^T; dQ = dS @ K; "
           "dWq = sum over N and T of x^T dQ",
    "dWk": "dK = dS^T @ Q (dS transposed: keys are the columns of S); dWk = sum over N and T of "
           "x^T dK",
    "dx": "x is used three times, so dx = dQ @ Wq^T + dK @ Wk^T + dV @ Wv^T",
}
VARIANT_HINTS = {
    "no_scale": "the query and key paths are sqrt(dk) times too large: the forward scaled the scores "
                "by 1/sqrt(dk), so dS must be divided by sqrt(dk) too",
    "no_rowsum": "the softmax backward is missing its second term: dS = A * (dA - sum(dA * A, "
                 "axis=-1, keepdims=True)), not A * dA (the Jacobian of softmax is diag(a) - a a^T)",
    "no_q": "dx lacks the query path dQ @ Wq^T",
    "no_k": "dx lacks the key path dK @ Wk^T",
    "no_v": "dx lacks the value path dV @ Wv^T",
    "only_v": "dx has only the value path dV @ Wv^T: x also makes Q and K, add dQ @ Wq^T + dK @ Wk^T",
}


#: (shift of :func:`variant_forward`, hint) of the unstable softmaxes, recognised by their nan.
SHIFT_HINTS = (
    ("none", "exp of the raw scores overflows (exp(710) = inf, inf/inf = nan) or underflows "
             "(exp(-5e3)/exp(-5e3) = 0/0): subtract each row's maximum, S - S.amax(dim=-1, "
             "keepdim=True), before exp (the softmax does not change)"),
    ("global", "you subtract the maximum of the whole tensor: a row far below it underflows to "
               "0/0 = nan. Subtract each row's maximum, S.amax(dim=-1, keepdim=True), the maximum "
               "of each row, not of the whole tensor"),
    ("unmasked", "you subtract each row's maximum taken before the causal mask: a future score "
                 "far above the visible ones sets the shift and the visible ones underflow to "
                 "0/0 = nan. Mask first, then subtract the maximum of the visible scores"),
)


def _same(got: np.ndarray, v: np.ndarray) -> bool:
    """Not finite at the same entries as ``v`` and equal to it elsewhere."""
    finite = np.isfinite(v)
    return bool(np.array_equal(finite, np.isfinite(got)) and (not finite.any() or _matches(got, v)))


def stability_hint(inp: dict, causal: bool, got: np.ndarray, exp: np.ndarray,
                   passed=()) -> str:
    """The hint for a wrong ``got`` on large scores, from what was observed: the unstable
    softmax whose nan pattern and values ``got`` has (and that is right on every ``(inp,
    causal)`` of ``passed``, the cases the student got right), else the rows that are wrong."""
    if not np.all(np.isfinite(got)):
        for shift, text in SHIFT_HINTS:
            if _same(got, variant_forward(inp, causal, shift=shift)) and all(
                    _same(variant_forward(i, c), variant_forward(i, c, shift=shift))
                    for i, c in passed):
                return text
        return ("out is not finite: exp of large scores overflows (exp(710) = inf, and inf/inf "
                "= nan) or underflows to 0/0; subtract each row's maximum, S - S.amax(dim=-1, "
                "keepdim=True), before exp: the maximum of each row, not of the whole tensor")
    s = _scores(inp)
    wrong = ~np.all(np.isclose(got, exp, rtol=1e-6, atol=1e-9), axis=-1)      # (N, T)
    t = s.shape[-1]
    if causal:
        later = np.triu(np.ones((t, t), bool), 1)
        future = np.where(later, s, -np.inf).max(axis=-1)
        visible = np.where(later, -np.inf, s).max(axis=-1)
        if np.all(future[wrong] > visible[wrong] + 500.0):
            return ("out is wrong only in rows whose visible scores lie far below a later, "
                    "masked one: the future still gets weight, so your mask is finite (a value "
                    "like -1e4 added, or masked_fill with -1e3); fill the masked scores with "
                    "float('-inf')")
    top = np.sort(s, axis=-1)[..., -2:] if t > 1 else None
    if top is not None and np.all(np.abs(top[wrong]) > 100.0):
        return ("out is wrong in rows whose two largest scores are both large (|S| > 100): a "
                "clamp or clip of the scores makes them equal; instead of clamping, subtract each "
                "row's maximum before exp")
    return ("exp of large scores overflows or underflows: subtract each row's maximum (not the "
            "maximum of the whole tensor) before exp")
