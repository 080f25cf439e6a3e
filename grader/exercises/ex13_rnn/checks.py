"""RNN checks of ex13 (the exercise is declared in ``__init__``; see its docstring; the
clipping checks are in :mod:`.clip`)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import assert_unchanged, forbidden_check, signature_check  # noqa: F401
from grader.checks.compare import assert_close, expect_array, expect_tuple, unwrap
from grader.checks.gradients import compare_gradient, numerical_gradient, probe_coords
from grader.engine import StudentRaised
from grader.exercises.ex13_rnn.configs import (BWD, CONFIGS, FWD, FWD_PARAMS, GRADS, LONG, args,
                                               describe, make_inputs, rnn_oracle, saturated_inputs)
from grader.exercises.ex13_rnn.diagnose import backward_hint, forward_hint, matches
from grader.spec import Check, Exercise, Fail, Function  # noqa: F401 - used by __init__

CACHE = (1,)
SATURATED = ", pre-activations of 1e3..1e4 on half of the hidden units"


# -- calling the student --------------------------------------------------------------------------
FLOAT32_HINT = ("Hint: torch.zeros(...) and torch.empty(...) without dtype= make float32 tensors; "
                "use x.new_zeros(...), torch.zeros_like(...) or dtype=x.dtype, device=x.device")


def _located(exc: Fail, where: str) -> Fail:
    """``exc`` with the input named; a float32 output gets the usual torch cause as its hint."""
    text = str(exc)
    if "dtype float32, expected float64" in text:
        text = text.split(" Hint:")[0].rstrip(".") + f" ({where}). " + FLOAT32_HINT
    else:
        text += f" ({where})"
    return Fail(text)


def _h_array(res, inp: dict, dev, on: str):
    """(h as float64 array of shape (N, T, H), cache handle) from a forward result."""
    h, cache = expect_tuple(res, 2, fn=FWD, names="(h, cache)")
    n, t, _ = inp["x"].shape
    shape = (n, t, inp["h0"].shape[1])
    a = unwrap(h, fn=FWD, what="h", device=dev)
    if a.shape == (n, t + 1, shape[2]):
        raise Fail(f"{FWD}: h has shape {a.shape}, expected {shape} on {on}. Hint: h holds the T "
                   "states h_1..h_T after each step, not h0 as well")
    if a.shape == (t, n, shape[2]) and t != n:
        raise Fail(f"{FWD}: h has shape {a.shape}, expected {shape} on {on}. Hint: h is (N, T, H), "
                   "batch first; stack the states along dim 1")
    try:
        return expect_array(h, fn=FWD, what="h", shape=shape, device=dev), cache
    except Fail as exc:
        raise _located(exc, f"on {on}") from None


def run_forward(ctx, cases: list[dict], labels=None) -> list[tuple]:
    """The student's forward on each input dict, in one round trip: [(inp, on, h, cache)]."""
    labels = labels or [""] * len(cases)
    results = ctx.map(FWD, [(args(inp), {}) for inp in cases], keep=CACHE)
    out = []
    for inp, res, label in zip(cases, results, labels):
        on = describe(inp, label)
        h, cache = _h_array(res, inp, ctx.tensor_device, on)
        out.append((inp, on, h, cache))
    return out


def _grads(res, inp: dict, dev, on: str) -> dict:
    grads = expect_tuple(res, 5, fn=BWD, names="(dx, dh0, dWx, dWh, db)")
    got = {}
    for value, name, like in zip(grads, GRADS, FWD_PARAMS):
        try:
            got[name] = expect_array(value, fn=BWD, what=name, shape=inp[like].shape, device=dev)
        except Fail as exc:
            raise _located(exc, f"on {on}; {name} has the shape of {like}") from None
    return got


def run_backward(ctx, cases: list[dict], labels=None) -> list[dict]:
    """Forward then backward on each case ({"inp", "dh"}), two round trips in all. Per case: the
    student's gradients (``got``), the oracle's (``exp``), the input description (``on``) and
    whether the student's forward matched the oracle (``fwd_ok``)."""
    fwd = run_forward(ctx, [c["inp"] for c in cases], labels)
    bwd = ctx.map(BWD, [((c["dh"], cache), {}) for c, (_, _, _, cache) in zip(cases, fwd)])
    runs = []
    for c, (inp, on, h, _), res in zip(cases, fwd, bwd):
        exp = rnn_oracle(inp, c["dh"])
        runs.append({"case": c, "got": _grads(res, inp, ctx.tensor_device, on), "exp": exp,
                     "on": on, "fwd_ok": matches(h, exp["h"])})
    return runs


def _cases(ctx, configs, saturated=False, last_only=False) -> list[dict]:
    out = []
    for n, t, d, h in configs:
        inp = (saturated_inputs if saturated else make_inputs)(ctx.rng, n, t, d, h)
        dh = ctx.rng.normal(size=(n, t, h))
        if last_only:
            dh[:, :-1] = 0.0
        out.append({"inp": inp, "dh": dh})
    return out


def _fwd_note(run) -> str:
    return "" if run["fwd_ok"] else (f" (Your {FWD} is also wrong on this input and the backward "
                                     "pass works from its cache: fix the forward first.)")


def _time_note(runs, names) -> str:
    """When every T = 1 case is right and some longer one wrong: the mistake is in the recursion."""
    short = [r for r in runs if r["case"]["inp"]["x"].shape[1] == 1]
    ok = lambda r: all(matches(r["got"][n], r["exp"][n]) for n in names)  # noqa: E731
    if short and all(ok(r) for r in short) and not all(ok(r) for r in runs):
        return ("; your gradients are right for T = 1 and wrong for longer sequences, so the "
                "mistake is in what flows from one step to the previous one")
    return ""


def _judge_grads(runs, names, hint_for) -> None:
    """Compare the gradients ``names`` of every run with the oracle's; ``hint_for(run, name)``
    gives the hint of a wrong one. The first wrong gradient is reported in full and every other
    wrong gradient by name with its hint (each diagnosed mistake is reported, not only the first)."""
    first, others = None, {}
    for run in runs:
        for name in names:
            got, exp = run["got"][name], run["exp"][name]
            if matches(got, exp):
                continue
            hint = hint_for(run, name)
            if first is None:
                try:
                    assert_close(got, exp, fn=BWD, what=name, on=run["on"], hint=hint + _fwd_note(run))
                    continue                                   # within the check's tolerance
                except Fail as exc:
                    first = (name, str(exc))
            elif name != first[0] and name not in others:
                others[name] = f"{name} (on {run['on']})" + (f": {hint}" if hint else "")
    if first is not None:
        also = "".join(f"\n  Also wrong: {text}" for text in others.values())
        raise Fail(first[1] + also)


def _hinter(runs, names, default_hint):
    note = _time_note(runs, names)

    def hint_for(run, name):
        hint = backward_hint(run["case"]["inp"], run["case"]["dh"], name, run["got"][name])
        return (hint or default_hint[name]) + note
    return hint_for


def _saturated_nan(exc: Fail) -> Fail:
    if "contains" in str(exc):
        return Fail(f"{exc}. With pre-activations of 1e3..1e4, exp(a) overflows to inf and "
                    "(e^a - e^-a) / (e^a + e^-a) is inf/inf = nan: use torch.tanh")
    return exc


# -- checks -------------------------------------------------------------------------------------
def probe(ctx) -> None:
    """Signature probe: one forward and one backward on a small sequence (and one clip)."""
    (c,) = _cases(ctx, ((2, 3, 4, 5),))
    (inp, on, _, cache), = run_forward(ctx, [c["inp"]])
    _grads(ctx.call(BWD, c["dh"], cache), inp, ctx.tensor_device, on)
    from grader.exercises.ex13_rnn.clip import clip_outputs
    grads = [ctx.rng.normal(size=(3, 2)), ctx.rng.normal(size=(4,))]
    clip_outputs(ctx.call("clip_grad_norm", grads, 1.0), grads, ctx.tensor_device, "two tensors")


def check_forward(ctx) -> None:
    """h against torch.rnn_tanh (torch.nn.RNN's kernel) on five shapes, T from 1 to 12."""
    cases = [make_inputs(ctx.rng, *cfg) for cfg in CONFIGS]
    for inp, on, h, _ in run_forward(ctx, cases):
        exp = rnn_oracle(inp)["h"]
        if not matches(h, exp):
            hint = forward_hint(inp, h) or "h_t = tanh(x[:, t] @ Wx + h_{t-1} @ Wh + b), h_0 = h0"
            assert_close(h, exp, fn=FWD, what="h", on=on, hint=hint)


def check_forward_saturated(ctx) -> None:
    """Finite, exact hidden states with pre-activations of 1e3..1e4 (an ordinary case rides
    along, so a formula that is wrong everywhere is not blamed on saturation)."""
    cases = [make_inputs(ctx.rng, 2, 4, 3, 5), saturated_inputs(ctx.rng, 2, 4, 3, 5),
             saturated_inputs(ctx.rng, 3, 7, 2, 4)]
    try:
        runs = run_forward(ctx, cases, ["", SATURATED, SATURATED])
    except Fail as exc:
        raise _saturated_nan(exc) from None
    (inp0, _, h0, _), saturated = runs[0], runs[1:]
    ordinary_ok = matches(h0, rnn_oracle(inp0)["h"])
    hint = ("with saturated units tanh is exactly -1 or 1; torch.tanh gets that right, formulas "
            "with exp overflow" if ordinary_ok else
            "your forward is wrong on ordinary inputs too (see forward_values); fix that first")
    for inp, on, h, _ in saturated:
        assert_close(h, rnn_oracle(inp)["h"], fn=FWD, what="h", on=on, hint=hint)


def check_backward_dx_dh0(ctx) -> None:
    """dx and dh0 against autograd through torch.rnn_tanh on five shapes."""
    runs = run_backward(ctx, _cases(ctx, CONFIGS))
    _judge_grads(runs, ("dx", "dh0"), _hinter(runs, ("dx", "dh0"), {
        "dx": "dx[:, t] = da_t @ Wx.T with da_t = (dh[:, t] + dnext) * (1 - h_t**2)",
        "dh0": "dh0 is what step 0 passes back: da_0 @ Wh.T"}))


def check_backward_weights(ctx) -> None:
    """dWx, dWh and db against autograd: sums over every sample and every step."""
    runs = run_backward(ctx, _cases(ctx, CONFIGS))
    _judge_grads(runs, ("dWx", "dWh", "db"), _hinter(runs, ("dWx", "dWh", "db"), {
        "dWx": "dWx = sum over t of x_t.T @ da_t",
        "dWh": "dWh = sum over t of h_{t-1}.T @ da_t (h_0 at the first step)",
        "db": "db = sum over t and n of da_t"}))


def check_through_time(ctx) -> None:
    """The gradient that reaches early steps only through later ones: the upstream gradient is
    zero except at the last step (a loss on the final state), T = 6 and 11."""
    runs = run_backward(ctx, _cases(ctx, LONG, last_only=True),
                        [", dh zero except at the last step"] * len(LONG))

    def hint_for(run, name):
        got = run["got"]
        hint = backward_hint(run["case"]["inp"], run["case"]["dh"], name, got[name])
        if not hint and name == "dx" and not np.any(got["dx"][:, :-1]):
            hint = ("dx[:, t] is zero for every t < T-1: the last state depends on every earlier "
                    "input through h_{t-1} @ Wh, so the gradient must flow back through time "
                    "(dnext = da_t @ Wh.T)")
        return hint or "backpropagation through time: dcur = dh[:, t] + dnext"

    _judge_grads(runs, GRADS, hint_for)


def check_backward_saturated(ctx) -> None:
    """Finite, exact gradients with saturated units (tanh' = 0 there)."""
    cases = _cases(ctx, ((2, 4, 3, 5),)) + _cases(ctx, ((2, 4, 3, 5), (3, 6, 2, 4)), saturated=True)
    try:
        runs = run_backward(ctx, cases, ["", SATURATED, SATURATED])
    except Fail as exc:
        raise _saturated_nan(exc) from None
    ordinary_ok = all(matches(runs[0]["got"][g], runs[0]["exp"][g]) for g in GRADS)
    hint = ("with saturated units tanh' is exactly 0: write it as 1 - h_t**2 with the saved state "
            "(exp or cosh of 1e4 overflow)" if ordinary_ok else
            "your gradients are wrong on ordinary inputs too (see the backward_* checks); fix "
            "those first")
    _judge_grads(runs[1:], GRADS, lambda run, name: hint)


def check_backward_numeric(ctx) -> None:
    """Every gradient against central differences of the student's own forward, at random
    coordinates plus random directions, all evaluations in one round trip."""
    (c,) = _cases(ctx, ((2, 4, 3, 4),))
    inp = c["inp"]
    (run,) = run_backward(ctx, [c])
    points, plan = [], []

    def collect(pts):
        points.extend(pts)
        return [np.zeros_like(c["dh"])] * len(pts)

    for name, grad in zip(FWD_PARAMS, GRADS):
        coords = probe_coords(inp[name].shape, ctx.rng, 5)
        dirs = [ctx.rng.normal(size=inp[name].shape) for _ in range(2)]
        start = len(points)
        numerical_gradient(collect, inp, name, c["dh"], coords, directions=dirs)
        plan.append((name, grad, coords, dirs, start, len(points)))
    outs = [h for _, _, h, _ in run_forward(ctx, points)]
    for name, grad, coords, dirs, start, stop in plan:
        chunk = iter(outs[start:stop])
        num, num_dir = numerical_gradient(lambda pts: [next(chunk) for _ in pts], inp, name,
                                          c["dh"], coords, directions=dirs)
        analytic = run["got"][grad]
        compare_gradient(analytic, num, coords, fn=BWD, what=grad,
                         against=f"central differences of your {FWD} (w.r.t. {name})", on=run["on"],
                         analytic_dir=[float(np.sum(analytic * v)) for v in dirs], numeric_dir=num_dir,
                         hint=f"{grad} must be the derivative of your own forward's sum(dh * h)")


def check_inputs_untouched(ctx) -> None:
    """x, h0, Wx, Wh, b (forward) and dh (backward) come back unchanged; a second backward on
    the same cache gives what a backward on a fresh cache gives."""
    (c,) = _cases(ctx, ((3, 4, 2, 3),))
    inp = c["inp"]
    (r, (a, kw)), = ctx.map(FWD, [(tuple(v.copy() for v in args(inp)), {})], inputs=True, keep=CACHE)
    assert_unchanged(inp, a, kw, fn=FWD, names=FWD_PARAMS)
    on = describe(inp)
    _, cache = _h_array(r, inp, ctx.tensor_device, on)
    (_, (a, kw)), = ctx.map(BWD, [((c["dh"].copy(), cache), {})], inputs=True)
    try:
        assert_unchanged({"dh": c["dh"]}, a, kw, fn=BWD, names=("dh", "cache"))
    except Fail as exc:
        raise Fail(f"{exc}. Hint: dcur = dh[:, t] + dnext makes a new tensor; dh[:, t] += dnext "
                   "writes into the caller's dh") from None
    dh2 = ctx.rng.normal(size=c["dh"].shape)
    try:
        again = _grads(ctx.call(BWD, dh2, cache), inp, ctx.tensor_device, on)
    except StudentRaised as exc:
        raise Fail(f"{BWD} raised {exc.error.get('type', 'an error')} ({exc.error.get('message', '')}) "
                   f"when called a second time on the same cache (on {on}): the first call "
                   "consumed or changed the cache. Hint: read the cache, do not modify it "
                   "(list.pop(), del, in-place writes)") from None
    (_, _, _, fresh_cache), = run_forward(ctx, [inp])
    fresh = _grads(ctx.call(BWD, dh2, fresh_cache), inp, ctx.tensor_device, on)
    for name in GRADS:
        if not np.allclose(again[name], fresh[name], rtol=1e-12, atol=1e-12):
            raise Fail(f"{BWD} gives another {name} when called a second time on the same cache "
                       f"than on a fresh one (on {on}): the first call changed the cache of {FWD} "
                       "in place. Hint: do not write into cached tensors (+=, [...] =, *_ methods)")
