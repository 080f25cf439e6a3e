"""Checks of ex08 (the exercise is declared in ``__init__``; see its docstring).

Inputs and the oracle are in :mod:`.oracles`, the recognisers behind the hints in
:mod:`.diagnose`. Every value and gradient is judged against the oracle; the numerical check
differentiates the student's own forward only where it agrees with the oracle.
"""
from __future__ import annotations

import numpy as np

from grader.checks.common import Findings, assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, expect_array, expect_tuple, unwrap
from grader.checks.gradients import (compare_gradient, numerical_gradient, probe_coords,
                                     reference_values)
from grader.exercises.ex08_attention.diagnose import (GRAD_HINTS, VARIANT_HINTS, _matches,
                                                      forward_hint, forward_variants,
                                                      gradient_variants, scale_hint,
                                                      stability_hint)
from grader.exercises.ex08_attention.oracles import (BACKWARD_CASES, BWD, CACHE, CONFIGS, FWD,
                                                     FWD_PARAMS, GRADS, LARGE_SCORE, _args, _dims,
                                                     _on, large_inputs, leak_inputs,
                                                     make_inputs, oracle, variant_forward,
                                                     worst_inputs)
from grader.spec import Check, Exercise, Fail, Function


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


FINITE_MASK_HINT = ("a future key whose score is far above the visible ones (1e4 above, with "
                    "scores up to 5e3 in size) still gets weight: your mask is finite (a value "
                    "like -1e4 added, or masked_fill with -1e3); fill the masked scores with "
                    "float('-inf')")


def _causal_outs(ctx, cases, *, strict: bool) -> list:
    """out of the student's causal forward on each input (one round trip); ``strict``: a
    non-finite out[:, 1:] fails (ordinary inputs), else non-finite entries stay nan (large
    scores: stability's business, and left out of the comparison)."""
    results = ctx.map(FWD, [(_args(c), {"causal": True}) for c in cases])
    outs = []
    for c, res in zip(cases, results):
        n, t, _, _, dv = _dims(c)
        out, _ = expect_tuple(res, 2, fn=FWD, names="(out, cache)")
        arr = unwrap(out, fn=FWD, what="out", device=ctx.tensor_device)
        if arr.shape != (n, t, dv) or arr.dtype != np.float64:
            arr = expect_array(arr, fn=FWD, what="out", shape=(n, t, dv))    # raises
        if strict:
            # Judged here: causality only. A nan row 0 (a mask that hides the diagonal) is
            # forward_causal's business; nan elsewhere leaves nothing to compare.
            _finite_or_fail(arr[:, 1:], fn=FWD, what="out[:, 1:]", on=_on(c, True), causal=True,
                            large=False)
        outs.append(np.where(np.isfinite(arr), arr, np.nan))
    return outs


def _first_leak(base, outs, t0s):
    """(t0, index, before, after) of the first output at a position <= t0 that changed when only
    positions after t0 did (entries not finite in either run are not compared), or None."""
    for t0, out2 in zip(t0s, outs):
        a, b = base[:, :t0 + 1], out2[:, :t0 + 1]
        ok = np.isfinite(a) & np.isfinite(b)
        diff = np.where(ok, np.abs(a - b), 0.0)
        if np.all(diff <= 1e-12 + 1e-10 * np.where(ok, np.abs(a), 0.0)):
            continue
        where = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
        return t0, where, a[where], b[where]
    return None


def check_causality(ctx) -> None:
    """Property: with causal=True, changing x at positions after t0 leaves out[:, :t0+1] exactly
    as it was (judged on the student's own outputs: two calls per t0), on random inputs and on
    the deterministic worst case of a finite mask (:func:`leak_inputs`: rows whose visible
    scores lie 1e4 below a future one; the later positions halved)."""
    n, t, d, dk, dv = 2, 6, 5, 3, 4
    inp = make_inputs(ctx.rng, n, t, d, dk, dv)
    t0s = (0, 2, t - 2)
    changed = []
    for t0 in t0s:
        x2 = inp["x"].copy()
        x2[:, t0 + 1:] = ctx.rng.normal(size=(n, t - t0 - 1, d)) * 2.0
        changed.append({**inp, "x": x2})
    leak, leak_t0s = leak_inputs(ctx.rng), (1, 3)
    leak_changed = []
    for t0 in leak_t0s:
        x2 = leak["x"].copy()
        x2[:, t0 + 1:] *= 0.5
        leak_changed.append({**leak, "x": x2})
    outs = _causal_outs(ctx, [inp] + changed, strict=True)
    found = _first_leak(outs[0], outs[1:], t0s)
    if found is not None:
        hint = "mask every score S[:, t, s] with s > t to -inf before the softmax"
        for kwargs, text in forward_variants(inp, True):
            with np.errstate(all="ignore"):
                if _matches(outs[0], variant_forward(inp, True, **kwargs)):
                    hint = text
                    break
        shape = f"N={n}, T={t}"
    else:
        leak_outs = _causal_outs(ctx, [leak] + leak_changed, strict=False)
        found = _first_leak(leak_outs[0], leak_outs[1:], leak_t0s)
        hint, shape = FINITE_MASK_HINT, (f"N=1, T={leak['x'].shape[1]}, scores up to "
                                         f"{LARGE_SCORE:g} in size, the later positions halved")
    if found is not None:
        t0, where, before, after = found
        raise Fail(f"{FWD} with causal=True is not causal: changing x only at positions after "
                   f"t = {t0} changed out at position {where[1]} <= {t0} (out{list(where)} went "
                   f"from {before:.6g} to {after:.6g}; {shape}). Position t may only depend on "
                   f"positions 0..t.\n  Hint: {hint}")


def check_stability(ctx) -> None:
    """Scores up to 5e3 in size, on every seed: the deterministic worst cases of
    :func:`worst_inputs` (rows of zeros beside rows of +-5e3, two close large scores, causal and
    not) and :func:`leak_inputs` (a causal first row with one key scored -5e3, rows whose visible
    scores lie 1e4 below a future one, and T = 1), and random ones; finite outputs equal to the
    oracle. An ordinary case rides along so a formula wrong everywhere is not blamed on the
    large scores."""
    ordinary = [(make_inputs(ctx.rng, 2, 5, 6, 3, 4), False), (make_inputs(ctx.rng, 2, 5, 6, 3, 4), True)]
    ordinary_ok = {causal: _matches(out, oracle(inp, causal)["out"])
                   for inp, causal, _, out in _check_forward(ctx, ordinary)}
    cases = [(worst_inputs(ctx.rng, False), False), (worst_inputs(ctx.rng, True), True),
             (leak_inputs(ctx.rng), True), (leak_inputs(ctx.rng, 1), False),
             (leak_inputs(ctx.rng, 1), True),
             (large_inputs(ctx.rng, 2, 6, 5, 3, 4), False), (large_inputs(ctx.rng, 3, 5, 4, 6, 2), True)]
    results = ctx.map(FWD, [(_args(inp), _kw(c)) for inp, c in cases])
    judged = []                          # (inp, causal, out, oracle's out, right?)
    for (inp, causal), res in zip(cases, results):
        out, _ = expect_tuple(res, 2, fn=FWD, names="(out, cache)")
        n, t, _, _, dv = _dims(inp)
        arr = unwrap(out, fn=FWD, what="out", device=ctx.tensor_device)
        if arr.shape != (n, t, dv) or arr.dtype != np.float64:
            arr = expect_array(arr, fn=FWD, what="out", shape=(n, t, dv))   # raises
        exp = oracle(inp, causal)["out"]
        judged.append((inp, causal, arr, exp, bool(np.all(np.isfinite(arr)) and _matches(arr, exp))))
    passed = [(inp, causal) for inp, causal, _, _, ok in judged if ok]
    found = Findings()
    for causal in (False, True):         # each mode's first wrong case
        wrong = [j for j in judged if j[1] == causal and not j[4]]
        if not wrong:
            continue
        inp, _, arr, exp, _ = wrong[0]
        on = _on(inp, causal, f", |S| up to {LARGE_SCORE:g}")
        hint = (stability_hint(inp, causal, arr, exp, passed) if ordinary_ok[causal] else
                "your forward is wrong on ordinary inputs too (see "
                f"{'forward_causal' if causal else 'forward_values'}); fix that first")
        if not np.all(np.isfinite(arr)):
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            found.add(f"{FWD}: out contains {arr[bad]} at {list(bad)} on {on}. Hint: {hint}")
            continue
        try:
            assert_close(arr, exp, fn=FWD, what="out", on=on, hint=hint)
        except Fail as exc:
            found.add(str(exc))
    found.done()


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
    """Each of ``names`` against autograd; each gradient's first wrong case is reported."""
    found, wrong = Findings(), set()
    for run in _run_backward(ctx, _backward_cases(ctx)):
        for name in names:
            got, exp = run["got"][name], run["exp"][name]
            if name in wrong or _matches(got, exp):
                continue
            try:
                assert_close(got, exp, fn=BWD, what=name, on=run["on"], hint=_grad_hint(run, name))
            except Fail as exc:
                found.add(str(exc))
                wrong.add(name)
    found.done()


def check_backward_dwv(ctx) -> None:
    _judge_gradients(ctx, ("dWv",))


def check_backward_dwq_dwk(ctx) -> None:
    _judge_gradients(ctx, ("dWq", "dWk"))


def check_backward_dx(ctx) -> None:
    _judge_gradients(ctx, ("dx",))


def check_backward_numeric(ctx) -> None:
    """All four gradients against central differences of the forward (the student's own where it
    agrees with the oracle at every perturbed point, else the oracle's), causal and not, at
    random coordinates plus random directions; every evaluation in one round trip."""
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
    chosen = []
    for ci in range(len(cases)):
        mine = [k for k, o in enumerate(owner) if o == ci]
        spec = [variant_forward(points[k], causal_of[ci]) for k in mine]
        try:
            own = [_forward_out(results[k], points[k], ctx, _on(points[k], causal_of[ci]),
                                causal_of[ci])[0] for k in mine]
        except Fail:
            own = []
        values, own_used = reference_values(own, spec)
        chosen.append((dict(zip(mine, values)), own_used))
    found, wrong = Findings(), set()
    for ci, name, grad, coords, dirs, start, stop in plan:
        case, run = cases[ci], runs[ci]
        values, own_used = chosen[ci]
        chunk = iter([values[k] for k in range(start, stop)])
        num, num_dir = numerical_gradient(lambda pts: [next(chunk) for _ in pts], case["inp"], name,
                                          case["dout"], coords, directions=dirs)
        analytic = run["got"][grad]
        against = (f"central differences of your {FWD} (w.r.t. {name})" if own_used else
                   f"central differences of the correct attention (w.r.t. {name}; your {FWD} is "
                   "wrong here too: see forward_values and forward_causal)")
        if grad in wrong:
            continue                     # one message per gradient
        try:
            compare_gradient(analytic, num, coords, fn=BWD, what=grad, against=against,
                             on=run["on"], analytic_dir=[float(np.sum(analytic * v)) for v in dirs],
                             numeric_dir=num_dir,
                             hint=f"{grad} is the derivative of the forward's sum(dout * out)")
        except Fail as exc:
            found.add(str(exc))
            wrong.add(grad)
    found.done()


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
