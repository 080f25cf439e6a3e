"""Checks of ex08 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import math

import numpy as np

from grader.checks.common import assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, expect_array, expect_tuple, unwrap
from grader.checks.gradients import compare_gradient, numerical_gradient, probe_coords
from grader.spec import Check, Exercise, Fail, Function

#: Position of ``cache`` in the forward's return tuple: it stays in the student process (a handle).
CACHE = (1,)
FWD, BWD = "attention_forward", "attention_backward"
FWD_PARAMS = ("x", "Wq", "Wk", "Wv")
GRADS = ("dx", "dWq", "dWk", "dWv")
#: (N, T, D, dk, dv): D, dk, dv all different; N = 1, T = 1 and dk > D included.
#: N, dk and their square roots differ in each (so a factor 1/N is not mistaken for 1/sqrt(dk)).
CONFIGS = ((2, 5, 6, 3, 4), (1, 7, 5, 3, 2), (3, 1, 4, 2, 5), (2, 6, 3, 5, 4))
#: (config, causal) of the backward checks.
BACKWARD_CASES = (((2, 5, 6, 3, 4), False), ((1, 7, 5, 3, 2), True), ((2, 6, 3, 5, 4), False),
                  ((2, 4, 3, 5, 4), True))
#: Largest |score| of the stability check: exp(5000) overflows float64 (exp(710) = inf).
LARGE_SCORE = 5e3
#: A variant output "matches" a student's output at this tolerance (recognisers only).
MATCH = {"rtol": 1e-6, "atol": 1e-9}


# -- inputs -------------------------------------------------------------------------------------
def make_inputs(rng: np.random.Generator, n: int, t: int, d: int, dk: int, dv: int) -> dict:
    """Random float64 inputs with scores S of order 1 (every scaling mistake shows)."""
    return {"x": rng.normal(size=(n, t, d)),
            "Wq": rng.normal(size=(d, dk)) / np.sqrt(d),
            "Wk": rng.normal(size=(d, dk)) / np.sqrt(d),
            "Wv": rng.normal(size=(d, dv)) / np.sqrt(d)}


def large_inputs(rng: np.random.Generator, n: int, t: int, d: int, dk: int, dv: int) -> dict:
    """Inputs whose largest |S| is exactly :data:`LARGE_SCORE` (x rescaled; S is quadratic in x),
    so an exp of unshifted scores overflows to inf and inf/inf = nan."""
    inp = make_inputs(rng, n, t, d, dk, dv)
    s = _scores(inp)
    inp["x"] = inp["x"] * np.sqrt(LARGE_SCORE / np.abs(s).max())
    return inp


def _args(inp: dict) -> tuple:
    return tuple(inp[k] for k in FWD_PARAMS)


def _dims(inp: dict) -> tuple[int, int, int, int, int]:
    n, t, d = inp["x"].shape
    return n, t, d, inp["Wq"].shape[1], inp["Wv"].shape[1]


def _on(inp: dict, causal: bool, extra: str = "") -> str:
    n, t, d, dk, dv = _dims(inp)
    return f"N={n}, T={t}, D={d}, dk={dk}, dv={dv}, causal={causal}{extra}"


# -- oracles (torch, grader side) ---------------------------------------------------------------
def oracle(inp: dict, causal: bool, dout=None) -> dict:
    """``scaled_dot_product_attention`` in float64 and, with ``dout``, autograd gradients.

    Args:
        inp: ``x`` (N, T, D), ``Wq``/``Wk`` (D, dk), ``Wv`` (D, dv), float64 numpy arrays.
        causal: PyTorch's ``is_causal`` (position t attends to positions 0..t).
        dout: upstream gradient (N, T, dv) or None.

    Returns:
        dict with ``out`` (N, T, dv) and, with ``dout``, ``dx``, ``dWq``, ``dWk``, ``dWv``.
    """
    import torch
    import torch.nn.functional as F

    want = dout is not None
    t = {k: torch.tensor(inp[k], dtype=torch.float64, requires_grad=want) for k in FWD_PARAMS}
    with torch.set_grad_enabled(want):
        q, k, v = t["x"] @ t["Wq"], t["x"] @ t["Wk"], t["x"] @ t["Wv"]
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        res = {"out": out.detach().numpy().copy()}
        if want:
            (out * torch.from_numpy(dout)).sum().backward()
            res.update({g: t[p].grad.numpy().copy() for g, p in zip(GRADS, FWD_PARAMS)})
    return res


# -- recognisers of the usual mistakes (hints only) ---------------------------------------------
def _scores(inp: dict, factor: float | None = None, transpose: bool = False) -> np.ndarray:
    q, k = inp["x"] @ inp["Wq"], inp["x"] @ inp["Wk"]
    if transpose:
        q, k = k, q
    dk = inp["Wq"].shape[1]
    return q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(dk) if factor is None else factor)


def _allowed(t: int, mask: str) -> np.ndarray:
    """(T, T) boolean: may query position t (rows) attend to key position s (columns)?"""
    r, c = np.arange(t)[:, None], np.arange(t)[None, :]
    return {"causal": c <= r, "strict": c < r, "plus1": c <= r + 1, "anti": c >= r,
            "none": np.ones((t, t), bool)}[mask]


def _softmax(s: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        m = np.max(s, axis=axis, keepdims=True)
        e = np.exp(s - m)
        return e / e.sum(axis=axis, keepdims=True)


def variant_forward(inp: dict, causal: bool, *, factor: float | None = None, axis: int = -1,
                    transpose: bool = False, mask: str = "causal", after: bool = False) -> np.ndarray:
    """The attention forward with one thing changed, to name a student's mistake.

    Args:
        factor: the scale of the scores (None: 1/sqrt(dk)). axis: the softmax axis (-2 is the
            query axis). transpose: scores K @ Q^T instead of Q @ K^T.
        mask: which (t, s) a causal row may see: ``causal`` (s <= t), ``strict`` (s < t),
            ``plus1`` (s <= t + 1), ``anti`` (s >= t) or ``none``. after: zero the masked
            weights after an unmasked softmax (no renormalisation).

    Returns:
        out (N, T, dv); rows with nothing to attend to are nan.
    """
    s = _scores(inp, factor, transpose)
    t = s.shape[-1]
    allowed = _allowed(t, mask if causal else "none")
    if after:
        a = _softmax(s, axis) * allowed
    else:
        a = _softmax(np.where(allowed, s, -np.inf), axis)
    return a @ (inp["x"] @ inp["Wv"])


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


# -- running the student's code -----------------------------------------------------------------
def _kw(causal: bool | None) -> dict:
    return {} if causal is None else {"causal": causal}


def _finite_or_fail(arr: np.ndarray, *, fn: str, what: str, on: str, causal: bool,
                    large: bool) -> None:
    if np.all(np.isfinite(arr)):
        return
    bad = np.argwhere(~np.isfinite(arr))
    idx = tuple(int(i) for i in bad[0])
    msg = f"{fn}: {what} contains {arr[idx]} at {list(idx)} on {on}. Hint: "
    if fn == FWD and causal and arr.ndim == 3 and np.all(bad[:, 1] == 0):
        msg += ("only position t = 0 is not finite: your causal mask hides the diagonal, so the "
                "first row has nothing left to attend to. Position t attends to 0..t: mask s > t "
                "only (triu(1))")
    elif large:
        msg += ("exp of large scores overflows (exp(710) = inf, and inf/inf = nan): subtract each "
                "row's maximum, S - S.amax(dim=-1, keepdim=True), before exp (the softmax does not "
                "change); the maximum of each row, not of the whole tensor")
    else:
        msg += "an overflowing exp, a division by zero, or a row whose scores are all -inf"
    raise Fail(msg)


def _forward_out(res, inp: dict, ctx, on: str, causal: bool, large: bool = False):
    out, cache = expect_tuple(res, 2, fn=FWD, names="(out, cache)")
    n, t, _, _, dv = _dims(inp)
    arr = unwrap(out, fn=FWD, what="out", device=ctx.tensor_device)
    if arr.shape == (n, t, dv):
        _finite_or_fail(arr, fn=FWD, what="out", on=on, causal=causal, large=large)
    return expect_array(arr, fn=FWD, what="out", shape=(n, t, dv)), cache


def _check_forward(ctx, cases: list[tuple[dict, bool | None]], extra: str = "") -> list:
    """Student forward on every ``(inputs, causal)`` (None: argument left to its default) in one
    round trip; returns ``(inputs, causal, on, out)`` per case."""
    results = ctx.map(FWD, [(_args(inp), _kw(c)) for inp, c in cases])
    runs = []
    for (inp, c), res in zip(cases, results):
        on = _on(inp, bool(c), extra) + (" (causal left to its default)" if c is None else "")
        out, _ = _forward_out(res, inp, ctx, on, bool(c), large=bool(extra))
        runs.append((inp, bool(c), on, out))
    return runs


def _judge_forward(runs) -> None:
    for inp, causal, on, out in runs:
        exp = oracle(inp, causal)["out"]
        if not _matches(out, exp):
            assert_close(out, exp, fn=FWD, what="out", on=on, hint=forward_hint(inp, causal, out))


def check_forward(ctx) -> None:
    cases = [(make_inputs(ctx.rng, *cfg), None if k % 2 else False) for k, cfg in enumerate(CONFIGS)]
    _judge_forward(_check_forward(ctx, cases))


def check_forward_causal(ctx) -> None:
    _judge_forward(_check_forward(ctx, [(make_inputs(ctx.rng, *cfg), True) for cfg in CONFIGS]))


def check_causality(ctx) -> None:
    """Property: with causal=True, changing x at positions after t0 leaves out[:, :t0+1] exactly
    as it was (judged on the student's own outputs: two calls per t0)."""
    n, t, d, dk, dv = 2, 6, 5, 3, 4
    inp = make_inputs(ctx.rng, n, t, d, dk, dv)
    t0s = (0, 2, t - 2)
    changed = []
    for t0 in t0s:
        x2 = inp["x"].copy()
        x2[:, t0 + 1:] = ctx.rng.normal(size=(n, t - t0 - 1, d)) * 2.0
        changed.append({**inp, "x": x2})
    results = ctx.map(FWD, [(_args(c), {"causal": True}) for c in [inp] + changed])
    outs = []
    for c, res in zip([inp] + changed, results):
        out, _ = expect_tuple(res, 2, fn=FWD, names="(out, cache)")
        arr = unwrap(out, fn=FWD, what="out", device=ctx.tensor_device)
        if arr.shape == (n, t, dv) and arr.dtype == np.float64:
            # Judged here: causality only. A nan row 0 (a mask that hides the diagonal) is
            # forward_causal's business; nan elsewhere leaves nothing to compare.
            _finite_or_fail(arr[:, 1:], fn=FWD, what="out[:, 1:]", on=_on(c, True), causal=True,
                            large=False)
        outs.append(expect_array(np.nan_to_num(arr, nan=0.0), fn=FWD, what="out", shape=(n, t, dv)))
    base = outs[0]
    for t0, out2 in zip(t0s, outs[1:]):
        a, b = base[:, :t0 + 1], out2[:, :t0 + 1]
        diff = np.abs(a - b)
        if np.all(diff <= 1e-12 + 1e-10 * np.abs(a)):
            continue
        where = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
        hint = "mask every score S[:, t, s] with s > t to -inf before the softmax"
        for kwargs, text in forward_variants(inp, True):
            with np.errstate(all="ignore"):
                if _matches(base, variant_forward(inp, True, **kwargs)):
                    hint = text
                    break
        raise Fail(f"{FWD} with causal=True is not causal: changing x only at positions after "
                   f"t = {t0} changed out at position {where[1]} <= {t0} (out{list(where)} went "
                   f"from {a[where]:.6g} to {b[where]:.6g}; N={n}, T={t}). Position t may only "
                   f"depend on positions 0..t.\n  Hint: {hint}")


def check_stability(ctx) -> None:
    """Scores with |S| up to 5e3: finite outputs equal to the oracle. An ordinary case rides
    along so a formula wrong everywhere is not blamed on the large scores."""
    ordinary = [(make_inputs(ctx.rng, 2, 5, 6, 3, 4), False), (make_inputs(ctx.rng, 2, 5, 6, 3, 4), True)]
    ordinary_ok = {causal: _matches(out, oracle(inp, causal)["out"])
                   for inp, causal, _, out in _check_forward(ctx, ordinary)}
    cases = [(large_inputs(ctx.rng, 2, 6, 5, 3, 4), False), (large_inputs(ctx.rng, 3, 5, 4, 6, 2), True)]
    for inp, causal, on, out in _check_forward(ctx, cases, f", |S| up to {LARGE_SCORE:g}"):
        hint = ("exp of large scores overflows or underflows: subtract each row's maximum before "
                "exp" if ordinary_ok[causal] else "your forward is wrong on ordinary inputs too "
                f"(see {'forward_causal' if causal else 'forward_values'}); fix that first")
        assert_close(out, oracle(inp, causal)["out"], fn=FWD, what="out", on=on, hint=hint)


# -- backward -----------------------------------------------------------------------------------
def _backward_cases(ctx, cases=BACKWARD_CASES) -> list[dict]:
    out = []
    for cfg, causal in cases:
        inp = make_inputs(ctx.rng, *cfg)
        out.append({"inp": inp, "causal": causal, "dout": ctx.rng.normal(size=(cfg[0], cfg[1], cfg[4]))})
    return out


def _run_backward(ctx, cases: list[dict]) -> list[dict]:
    """Student forward then backward on every case (two round trips); per case the numpy
    gradients (``got``), the oracle (``exp``), the description (``on``) and whether the student's
    forward matched the oracle (``fwd_ok``)."""
    fwd = ctx.map(FWD, [(_args(c["inp"]), _kw(c["causal"])) for c in cases], keep=CACHE)
    outs = [_forward_out(r, c["inp"], ctx, _on(c["inp"], c["causal"]), c["causal"])
            for r, c in zip(fwd, cases)]
    bwd = ctx.map(BWD, [((c["dout"], cache), {}) for c, (_, cache) in zip(cases, outs)])
    runs = []
    for c, (out, _), res in zip(cases, outs, bwd):
        inp, on = c["inp"], _on(c["inp"], c["causal"])
        grads = expect_tuple(res, 4, fn=BWD, names="(dx, dWq, dWk, dWv)")
        got = {}
        for value, name, like in zip(grads, GRADS, FWD_PARAMS):
            arr = unwrap(value, fn=BWD, what=name, device=ctx.tensor_device)
            if arr.shape == inp[like].shape:
                _finite_or_fail(arr, fn=BWD, what=name, on=on, causal=c["causal"], large=False)
            got[name] = expect_array(arr, fn=BWD, what=name, shape=inp[like].shape)
        exp = oracle(inp, c["causal"], c["dout"])
        runs.append({"case": c, "got": got, "exp": exp, "on": on,
                     "fwd_ok": _matches(out, exp["out"])})
    return runs


def _fwd_note(run) -> str:
    return "" if run["fwd_ok"] else (" (Your attention_forward is also wrong on this input and "
                                     "the backward pass works from its cache: fix the forward first.)")


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


def _grad_hint(run, name: str) -> str:
    got, exp = run["got"][name], run["exp"][name]
    n, _, _, dk, _ = _dims(run["case"]["inp"])
    hint = scale_hint(got, exp, name, n, dk)
    if not hint and name in ("dWq", "dWk"):
        other = "dWk" if name == "dWq" else "dWq"
        if _matches(got, run["exp"][other]):
            hint = (f"your {name} is the oracle's {other}: dWq comes from dQ = dS @ K and dWk from "
                    "dK = dS^T @ Q")
    if not hint:
        variants = gradient_variants(run["case"])
        for key, text in VARIANT_HINTS.items():
            if name in variants[key] and _matches(got, variants[key][name]) \
                    and not _matches(variants[key][name], exp):
                hint = text
                break
    return (hint or GRAD_HINTS[name]) + _fwd_note(run)


def _judge_gradients(ctx, names) -> None:
    for run in _run_backward(ctx, _backward_cases(ctx)):
        for name in names:
            got, exp = run["got"][name], run["exp"][name]
            if not _matches(got, exp):
                assert_close(got, exp, fn=BWD, what=name, on=run["on"], hint=_grad_hint(run, name))


def check_backward_dwv(ctx) -> None:
    _judge_gradients(ctx, ("dWv",))


def check_backward_dwq_dwk(ctx) -> None:
    _judge_gradients(ctx, ("dWq", "dWk"))


def check_backward_dx(ctx) -> None:
    _judge_gradients(ctx, ("dx",))


def check_backward_numeric(ctx) -> None:
    """All four gradients against central differences of the student's own forward (causal and
    not), at random coordinates plus random directions; every evaluation in one round trip."""
    cases = _backward_cases(ctx, (((2, 4, 5, 3, 2), False), ((2, 4, 5, 3, 2), True)))
    runs = _run_backward(ctx, cases)
    points, plan = [], []

    def collect(pts):                # first pass: only gather the perturbed inputs
        points.extend(pts)
        return [np.zeros_like(case["dout"])] * len(pts)

    for ci, case in enumerate(cases):
        for name, grad in zip(FWD_PARAMS, GRADS):
            coords = probe_coords(case["inp"][name].shape, ctx.rng, 5)
            dirs = [ctx.rng.normal(size=case["inp"][name].shape) for _ in range(2)]
            start = len(points)
            numerical_gradient(collect, case["inp"], name, case["dout"], coords, directions=dirs)
            plan.append((ci, name, grad, coords, dirs, start, len(points)))
    causal_of = [c["causal"] for c in cases]
    owner = [p[0] for p in plan for _ in range(p[6] - p[5])]
    results = ctx.map(FWD, [(_args(p), _kw(causal_of[ci])) for p, ci in zip(points, owner)],
                      keep=CACHE)
    outs = [_forward_out(r, p, ctx, _on(p, causal_of[ci]), causal_of[ci])[0]
            for r, p, ci in zip(results, points, owner)]
    for ci, name, grad, coords, dirs, start, stop in plan:
        case, run = cases[ci], runs[ci]
        chunk = iter(outs[start:stop])
        num, num_dir = numerical_gradient(lambda pts: [next(chunk) for _ in pts], case["inp"], name,
                                          case["dout"], coords, directions=dirs)
        analytic = run["got"][grad]
        compare_gradient(analytic, num, coords, fn=BWD, what=grad,
                         against=f"central differences of your {FWD} (w.r.t. {name})", on=run["on"],
                         analytic_dir=[float(np.sum(analytic * v)) for v in dirs], numeric_dir=num_dir,
                         hint=f"{grad} must be the derivative of your own forward's sum(dout * out)")


# -- properties ---------------------------------------------------------------------------------
def check_inputs_untouched(ctx) -> None:
    inp = make_inputs(ctx.rng, 2, 4, 5, 3, 2)
    ((res, (args, kwargs)),) = ctx.map(FWD, [(tuple(a.copy() for a in _args(inp)), {"causal": True})],
                                       inputs=True, keep=CACHE)
    assert_unchanged(inp, args, kwargs, fn=FWD, names=FWD_PARAMS)
    _, cache = expect_tuple(res, 2, fn=FWD, names="(out, cache)")
    dout = ctx.rng.normal(size=(2, 4, 2))
    _, (args, kwargs) = ctx.call_with_inputs(BWD, dout.copy(), cache)
    assert_unchanged({"dout": dout}, args, kwargs, fn=BWD, names=("dout", "cache"))


def probe(ctx) -> None:
    inp = make_inputs(ctx.rng, 2, 3, 4, 2, 3)
    out, cache = _forward_out(ctx.map(FWD, [(_args(inp), {})], keep=CACHE)[0], inp, ctx, _on(inp, False),
                              False)
    grads = expect_tuple(ctx.call(BWD, np.ones_like(out), cache), 4, fn=BWD, names="(dx, dWq, dWk, dWv)")
    for value, name, like in zip(grads, GRADS, FWD_PARAMS):
        expect_array(value, fn=BWD, what=name, shape=inp[like].shape, device=ctx.tensor_device)
