"""Checks of ex07 (the exercise is declared in ``__init__``; see its docstring).

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
from grader.exercises.ex07_lstm.diagnose import (_dc_with_tanh_grad_of_c, _matches, forward_hint,
                                                 weight_hint)
from grader.exercises.ex07_lstm.oracles import (BWD, BWD_PARAMS, CACHE, CONFIGS, FWD, FWD_PARAMS,
                                                GRADS, _args, _on, _sigmoid, make_inputs, oracle,
                                                saturated_inputs, variant_forward, worst_inputs)
from grader.spec import Check, Exercise, Fail, Function


# -- running the student's code -----------------------------------------------------------------
def _forward_outputs(res, inp: dict, device, on: str | None = None):
    """Unpack ``(next_h, next_c, cache)``, checking types, shapes, dtypes and (with ``on``, the
    input's description) finiteness with the overflow hint. Returns numpy next_h, next_c and the
    cache as it came back."""
    next_h, next_c, cache = expect_tuple(res, 3, fn=FWD, names="(next_h, next_c, cache)")
    shape = inp["prev_h"].shape
    out = []
    for value, what in ((next_h, "next_h"), (next_c, "next_c")):
        arr = unwrap(value, fn=FWD, what=what, device=device)
        if on is not None and arr.shape == shape:
            _finite(arr, fn=FWD, what=what, on=on)
        out.append(expect_array(arr, fn=FWD, what=what, shape=shape))
    return out[0], out[1], cache


def _finite(arr: np.ndarray, *, fn: str, what: str, on: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise Fail(f"{fn}: {what} contains {arr[bad]} at {list(bad)} on {on}. Hint: tanh or "
                   "sigmoid written with exp overflows for large inputs (exp(710) = inf, and "
                   "inf/inf = nan); use torch.tanh and torch.sigmoid, which are stable for inputs "
                   "of any size, and write the derivatives with the saved outputs "
                   "(sigmoid' = s*(1-s), tanh' = 1-t**2)")


SATURATED = ", pre-activations ~1e3..1e4"
WORST = ", pre-activations of exactly +-710, +-745 and +-1e4, |prev_c| up to 2e3"


def _check_forward(ctx, cases: list[dict], labels=None) -> list[tuple[dict, str, dict]]:
    """The student's forward on every case in one round trip: ``(inputs, description, {"next_h":
    .., "next_c": ..})`` per case; outputs are checked for type, shape, dtype and finiteness."""
    labels = labels or [""] * len(cases)
    results = ctx.map(FWD, [(_args(inp), {}) for inp in cases])
    runs = []
    for inp, res, label in zip(cases, results, labels):
        on = _on(inp, label)
        h, c, _ = _forward_outputs(res, inp, ctx.tensor_device, on)
        runs.append((inp, on, {"next_h": h, "next_c": c}))
    return runs


def check_next_c(ctx) -> None:
    cases = [make_inputs(ctx.rng, *cfg) for cfg in CONFIGS]
    for inp, on, got in _check_forward(ctx, cases):
        exp = oracle(inp)
        if not _matches(got["next_c"], exp["next_c"]):
            hint = forward_hint(inp, got["next_h"], got["next_c"], "next_c")
            assert_close(got["next_c"], exp["next_c"], fn=FWD, what="next_c", on=on, hint=hint)


def check_next_h(ctx) -> None:
    cases = [make_inputs(ctx.rng, *cfg) for cfg in CONFIGS]
    for inp, on, got in _check_forward(ctx, cases):
        exp = oracle(inp)
        if not _matches(got["next_h"], exp["next_h"]):
            hint = forward_hint(inp, got["next_h"], got["next_c"], "next_h")
            if _matches(got["next_c"], exp["next_c"]) and "order" not in hint:
                hint = "your next_c is right, so the mistake is after it: " + hint
            assert_close(got["next_h"], exp["next_h"], fn=FWD, what="next_h", on=on, hint=hint)


def check_forward_saturated(ctx) -> None:
    """Saturated gates, on every seed: the deterministic worst cases of :func:`worst_inputs`
    (pre-activations of exactly +-710, +-745, +-1e4...) and random ones of 1e3..1e4, finite and
    equal to the oracle. One ordinary case rides along so a formula that is wrong everywhere is
    not blamed on saturation."""
    cases = [make_inputs(ctx.rng, 3, 4, 5), worst_inputs(ctx.rng, 2, 3),
             saturated_inputs(ctx.rng, 3, 4, 5), saturated_inputs(ctx.rng, 2, 3, 2)]
    found = Findings()
    runs = []
    for inp, label in zip(cases, ["", WORST, SATURATED, SATURATED]):
        run = None
        with found.judge(_on(inp, label)):
            run = _check_forward(ctx, [inp], [label])[0]
        runs.append(run)
    first, saturated = runs[0], [r for r in runs[1:] if r is not None]
    ordinary_ok = first is not None and all(_matches(first[2][w], oracle(first[0])[w])
                                            for w in ("next_h", "next_c"))
    hint = ("with saturated gates sigmoid is exactly 0 or 1 and tanh exactly -1 or 1; use "
            "torch.sigmoid / torch.tanh" if ordinary_ok else
            "your forward is wrong on ordinary inputs too (see forward_next_c and forward_next_h); "
            "fix that first")
    for what in ("next_c", "next_h"):        # each output's first wrong case
        for inp, on, got in saturated:
            try:
                assert_close(got[what], oracle(inp)[what], fn=FWD, what=what, on=on, hint=hint)
            except Fail as exc:
                found.add(str(exc))
                break
    found.done()


# -- backward -----------------------------------------------------------------------------------
def _backward_cases(ctx, configs=CONFIGS, saturated=False) -> list[dict]:
    cases = []
    for n, d, h in configs:
        inp = saturated_inputs(ctx.rng, n, d, h) if saturated else make_inputs(ctx.rng, n, d, h)
        cases.append({"inp": inp, "dnext_h": ctx.rng.normal(size=(n, h)),
                      "dnext_c": ctx.rng.normal(size=(n, h))})
    return cases


def _run_backward(ctx, cases: list[dict], labels=None) -> list[dict]:
    """Student forward then backward on each case (two round trips in all); returns per case the
    numpy gradients by name (``got``), the oracle with gradients (``exp``), a description of the
    input (``on``) and whether the student's forward matched the oracle there (``fwd_ok``)."""
    labels = labels or [""] * len(cases)
    ons = [_on(c["inp"], label) for c, label in zip(cases, labels)]
    fwd = ctx.map(FWD, [(_args(c["inp"]), {}) for c in cases], keep=CACHE)
    outs = [_forward_outputs(r, c["inp"], ctx.tensor_device, on) for r, c, on in zip(fwd, cases, ons)]
    bwd = ctx.map(BWD, [((c["dnext_h"], c["dnext_c"], cache), {}) for c, (_, _, cache) in zip(cases, outs)])
    runs = []
    for c, (h, cc, _), res, on in zip(cases, outs, bwd, ons):
        inp = c["inp"]
        grads = expect_tuple(res, 6, fn=BWD, names="(dx, dprev_h, dprev_c, dWx, dWh, db)")
        got = {}
        for value, name, like in zip(grads, GRADS, FWD_PARAMS):
            arr = unwrap(value, fn=BWD, what=name, device=ctx.tensor_device)
            if arr.shape == inp[like].shape:
                _finite(arr, fn=BWD, what=name, on=on)
            got[name] = expect_array(arr, fn=BWD, what=name, shape=inp[like].shape)
        exp = oracle(inp, c["dnext_h"], c["dnext_c"])
        fwd_ok = _matches(h, exp["next_h"]) and _matches(cc, exp["next_c"])
        runs.append({"case": c, "got": got, "exp": exp, "on": on, "fwd_ok": fwd_ok})
    return runs


def _fwd_note(run) -> str:
    return "" if run["fwd_ok"] else (" (Your lstm_step_forward is also wrong on this input and "
                                     "the backward pass works from its cache: fix the forward first.)")


def check_backward_dx_dh(ctx) -> None:
    """dx and dprev_h against autograd, each judged (its first wrong case named)."""
    found = Findings()
    wrong = set()
    for run in _run_backward(ctx, _backward_cases(ctx)):
        got, exp = run["got"], run["exp"]
        da_ok = _matches(got["db"], exp["db"]) and _matches(got["dWx"], exp["dWx"])
        for name, w in (("dx", "Wx"), ("dprev_h", "Wh")):
            if name in wrong or _matches(got[name], exp[name]):
                continue
            if da_ok:
                hint = (f"your gate gradients da look right (db and dWx match), so the product is "
                        f"wrong: {name} = da @ {w}.T with da = [da_i | da_f | da_o | da_g], (N, 4H)")
            else:
                hint = (f"{name} = da @ {w}.T; your gate gradients da are wrong too (see the "
                        "backward_dweights check for which gate blocks)")
            try:
                assert_close(got[name], exp[name], fn=BWD, what=name, on=run["on"],
                             hint=hint + _fwd_note(run))
            except Fail as exc:
                found.add(str(exc))
                wrong.add(name)
    found.done()


def check_backward_dprev_c(ctx) -> None:
    for run in _run_backward(ctx, _backward_cases(ctx)):
        got, exp, c = run["got"]["dprev_c"], run["exp"]["dprev_c"], run["case"]
        if _matches(got, exp):
            continue
        inp = c["inp"]
        h = inp["prev_h"].shape[1]
        f = _sigmoid((inp["x"] @ inp["Wx"] + inp["prev_h"] @ inp["Wh"] + inp["b"])[:, h:2 * h])
        hint = ("dprev_c = dc * f, where dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2) is the "
                "whole gradient reaching next_c")
        if _matches(got, run["exp"]["dc"]):
            hint = ("your dprev_c is dc, the gradient reaching next_c: the forget gate is missing. "
                    "next_c = f * prev_c + ..., so dprev_c = dc * f")
        elif _matches(got, c["dnext_c"] * f):
            hint = ("your dprev_c is dnext_c * f: next_c also reaches the loss through next_h = "
                    "o * tanh(next_c), so use dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)")
        elif _matches(got, _dc_with_tanh_grad_of_c(inp, c) * f):
            hint = ("the derivative of tanh at next_c is 1 - tanh(next_c)**2, not 1 - next_c**2: "
                    "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)")
        elif _matches(got, c["dnext_c"]):
            hint = "your dprev_c is dnext_c itself: dprev_c = dc * f with dc the total gradient at next_c"
        assert_close(got, exp, fn=BWD, what="dprev_c", on=run["on"], hint=hint + _fwd_note(run))


def check_backward_weights(ctx) -> None:
    """db, dWx and dWh against autograd, gate block by gate block, each judged."""
    found = Findings()
    wrong = set()
    for run in _run_backward(ctx, _backward_cases(ctx)):
        inp = run["case"]["inp"]
        n, h = inp["prev_h"].shape
        for name, src in (("db", "sum over the batch of da"), ("dWx", "x.T @ da"), ("dWh", "prev_h.T @ da")):
            got, exp = run["got"][name], run["exp"][name]
            if name in wrong or _matches(got, exp):
                continue
            hint = weight_hint(got, exp, h, name, n)
            if not hint:
                hint = f"{name} = {src}, with da = [da_i | da_f | da_o | da_g] in the order i, f, o, g"
            try:
                assert_close(got, exp, fn=BWD, what=name, on=run["on"], hint=hint + _fwd_note(run))
            except Fail as exc:
                found.add(str(exc))
                wrong.add(name)
    found.done()


def check_backward_saturated(ctx) -> None:
    """Saturated gates, on every seed (the worst cases of :func:`worst_inputs` and random ones):
    finite gradients equal to autograd's, each gradient judged (with an ordinary case alongside,
    so a formula that is wrong everywhere gets the right hint)."""
    ordinary = _backward_cases(ctx, ((3, 4, 5),))
    worst = [{"inp": worst_inputs(ctx.rng, 2, 3), "dnext_h": ctx.rng.normal(size=(2, 8)),
              "dnext_c": ctx.rng.normal(size=(2, 8))}]
    cases = ordinary + worst + _backward_cases(ctx, ((3, 4, 5), (2, 3, 2)), True)
    found = Findings()
    runs = []
    for c, label in zip(cases, ["", WORST, SATURATED, SATURATED]):
        run = None
        with found.judge(_on(c["inp"], label)):
            run = _run_backward(ctx, [c], [label])[0]
        runs.append(run)
    first = runs[0]
    ordinary_ok = first is not None and all(_matches(first["got"][g], first["exp"][g])
                                            for g in GRADS)
    hint = ("with saturated gates the local derivatives s*(1-s) and 1-t**2 are 0 or tiny; write "
            "them with the saved gate values, not with exp" if ordinary_ok else
            "your gradients are wrong on ordinary inputs too (see the backward_* checks); fix "
            "those first")
    for name in GRADS:
        for run in (r for r in runs[1:] if r is not None):
            try:
                assert_close(run["got"][name], run["exp"][name], fn=BWD, what=name,
                             on=run["on"], hint=hint + _fwd_note(run))
            except Fail as exc:
                found.add(str(exc))
                break
    found.done()


def check_backward_numeric(ctx) -> None:
    """Every gradient against central differences of the step (of the student's own forward where
    it agrees with the oracle at every perturbed point, else of the oracle), at random
    coordinates plus random directions, all evaluations in one batch."""
    (c,) = _backward_cases(ctx, ((2, 4, 3),))
    inp = c["inp"]
    (run,) = _run_backward(ctx, [c])
    dout = np.concatenate([c["dnext_h"].ravel(), c["dnext_c"].ravel()])
    points, plan = [], []

    def collect(pts):                # first pass: only gather the perturbed inputs
        points.extend(pts)
        return [np.zeros_like(dout)] * len(pts)

    for name, grad in zip(FWD_PARAMS, GRADS):
        coords = probe_coords(inp[name].shape, ctx.rng, 5)
        dirs = [ctx.rng.normal(size=inp[name].shape) for _ in range(2)]
        start = len(points)
        numerical_gradient(collect, inp, name, dout, coords, directions=dirs)
        plan.append((name, grad, coords, dirs, start, len(points)))
    # one round trip for every perturbed forward, then the same differences on the results
    results = ctx.map(FWD, [(_args(p), {}) for p in points], keep=CACHE)
    spec = [np.concatenate([a.ravel() for a in variant_forward(p)]) for p in points]
    try:
        own = []
        for res, p in zip(results, points):
            h, cc, _ = _forward_outputs(res, p, ctx.tensor_device)
            own.append(np.concatenate([h.ravel(), cc.ravel()]))
    except Fail:
        own = []
    outs, own_used = reference_values(own, spec)
    found = Findings()
    for name, grad, coords, dirs, start, stop in plan:
        chunk = iter(outs[start:stop])
        num, num_dir = numerical_gradient(lambda pts: [next(chunk) for _ in pts], inp, name, dout,
                                          coords, directions=dirs)
        analytic = run["got"][grad]
        against = (f"central differences of your {FWD} (w.r.t. {name})" if own_used else
                   f"central differences of the correct LSTM step (w.r.t. {name}; your {FWD} is "
                   "wrong here too: see forward_next_c and forward_next_h)")
        with found.judge():
            compare_gradient(analytic, num, coords, fn=BWD, what=grad, against=against,
                             on=run["on"], analytic_dir=[float(np.sum(analytic * v)) for v in dirs],
                             numeric_dir=num_dir,
                             hint=f"{grad} is the derivative of the step's "
                                  "sum(dnext_h * next_h + dnext_c * next_c)")
    found.done()


# -- properties ---------------------------------------------------------------------------------
def check_upstream_untouched(ctx) -> None:
    (c,) = _backward_cases(ctx, ((3, 4, 2),))
    fwd = _forward_outputs(ctx.map(FWD, [(_args(c["inp"]), {})], keep=CACHE)[0], c["inp"],
                           ctx.tensor_device)
    _, (args, kwargs) = ctx.call_with_inputs(BWD, c["dnext_h"].copy(), c["dnext_c"].copy(), fwd[2])
    try:
        assert_unchanged({"dnext_h": c["dnext_h"], "dnext_c": c["dnext_c"]}, args, kwargs, fn=BWD,
                         names=BWD_PARAMS)
    except Fail as exc:
        raise Fail(str(exc) + ". The caller still needs its upstream gradients (an RNN adds "
                   "dnext_c from the next time step): write dc = dnext_c + ..., not "
                   "dnext_c += ...") from None


def check_inputs_untouched(ctx) -> None:
    inp = make_inputs(ctx.rng, 3, 4, 2)
    _, (args, kwargs) = ctx.call_with_inputs(FWD, *(a.copy() for a in _args(inp)))
    assert_unchanged(inp, args, kwargs, fn=FWD, names=FWD_PARAMS)


def probe(ctx) -> None:
    inp = make_inputs(ctx.rng, 2, 3, 2)
    _, _, cache = _forward_outputs(ctx.map(FWD, [(_args(inp), {})], keep=CACHE)[0], inp, ctx.tensor_device)
    grads = expect_tuple(ctx.call(BWD, np.ones((2, 2)), np.ones((2, 2)), cache), 6, fn=BWD,
                         names="(dx, dprev_h, dprev_c, dWx, dWh, db)")
    for value, name, like in zip(grads, GRADS, FWD_PARAMS):
        expect_array(value, fn=BWD, what=name, shape=inp[like].shape, device=ctx.tensor_device)
