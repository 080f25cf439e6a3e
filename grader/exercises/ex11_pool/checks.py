"""Checks of ex11 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import assert_unchanged, forbidden_check, signature_check  # noqa: F401
from grader.checks.compare import assert_close, describe_shape, expect_array, expect_tuple, unwrap
from grader.checks.gradients import H as STEP, compare_gradient, numerical_gradient, probe_coords
from grader.engine import StudentRaised
from grader.exercises.ex11_pool.configs import (CONFIGS, DISJOINT, EDGE_CONFIGS, OVERLAPPING,
                                                REALISTIC, TINY, Config, make_inputs, pool_oracle)
from grader.exercises.ex11_pool.diagnose import (Wrong, backward_variants, forward_variants, judge,
                                                 shape_hint, value_hint)
from grader.spec import Check, Exercise, Fail, Function  # noqa: F401 - used by __init__

FORWARD = "maxpool_forward"
BACKWARD = "maxpool_backward"


# -- calling the student --------------------------------------------------------------------------
def _map(ctx, fn: str, argsets: list, cfgs: list, **kw) -> list:
    """``ctx.map`` that, when the student raises, names the configuration it raised on (and what
    is new about it) under the student's traceback; the raised exception carries ``index``, the
    position of the call that raised."""
    before = ctx.calls
    try:
        return ctx.map(fn, argsets, **kw)
    except StudentRaised as exc:
        k = min(max(ctx.calls - before - 1, 0), len(cfgs) - 1)
        cfg, worked = cfgs[k], [c for c in cfgs[:k] if c != cfgs[k]]
        note = f"\n  (it raised on {cfg.describe()}"
        note += f", after {len(worked)} other configurations worked)" if worked else ")"
        special = _special(cfg, worked, str(exc.error.get("type", "")))
        if special:
            note += f"\n  Hint: {special}"
        error = dict(exc.error)
        error["traceback"] = (error.get("traceback") or "").rstrip() + note
        raised = StudentRaised(exc.fn, error)
        raised.index, raised.cfg = k, cfg
        raise raised from None


def _map_prefix(ctx, fn: str, argsets: list, cfgs: list, **kw) -> tuple[list, StudentRaised | None]:
    """Like :func:`_map`, but when call k raises, the first k calls (which worked) are made again
    and their results returned with the exception: ``(results, raised or None)``. A check then
    judges the configurations before the one that raised, so a wrong value there is still
    diagnosed."""
    try:
        return _map(ctx, fn, argsets, cfgs, **kw), None
    except StudentRaised as exc:
        k = getattr(exc, "index", 0)
        return (_map(ctx, fn, argsets[:k], cfgs[:k], **kw) if k else []), exc


def _special(cfg: Config, worked: list, error_type: str = "") -> str:
    """What ``cfg`` has that none of the configurations in ``worked`` (the ones before it in the
    same batch, which ran) had: said only where that is observed, i.e. when some configuration
    worked first, or when the student's own assertion failed on an input that does not tile."""
    notes = []
    if cfg.floors and (error_type == "AssertionError"
                       or (worked and not any(c.floors for c in worked))):
        Ho, Wo = cfg.out_hw
        first = "the first" if worked and not any(c.floors for c in worked) else "an"
        notes.append(f"this is {first} input the windows do not tile exactly ((H - pool_height) "
                     f"/ stride = {cfg.H - cfg.ph}/{cfg.s} or (W - pool_width) / stride = "
                     f"{cfg.W - cfg.pw}/{cfg.s}): H_out = 1 + (H - pool_height) // stride = {Ho}, "
                     f"W_out = {Wo}, and the rows/columns after the last window are never read"
                     + ("; do not assert that the windows tile the input"
                        if error_type == "AssertionError" else ""))
    if not worked:
        return "; ".join(notes)
    if cfg.ph != cfg.pw and all(c.ph == c.pw for c in worked):
        notes.append(f"this is the first non-square pool (pool_height={cfg.ph}, pool_width="
                     f"{cfg.pw}): rows go with pool_height, columns with pool_width")
    if cfg.overlaps and not any(c.overlaps for c in worked):
        notes.append(f"this is the first overlapping configuration (stride={cfg.s} < pool)")
    if cfg.gaps and not any(c.gaps for c in worked):
        notes.append(f"this is the first stride larger than the pool (stride={cfg.s})")
    return "; ".join(notes)


def _out_array(cfg: Config, out, device) -> np.ndarray:
    """The student's ``out`` as a float64 array of the contract's shape, with a diagnosis."""
    a = unwrap(out, fn=FORWARD, what="out", device=device)
    if str(a.dtype) == "float32":
        raise Wrong(f"{FORWARD}: out has dtype float32, expected float64 (the input's dtype) on "
                    f"{cfg.describe()}. Hint: torch.zeros(...) without dtype= makes float32 "
                    "tensors; use x.new_zeros(...) or torch.zeros(..., dtype=x.dtype, "
                    "device=x.device)", "out", True)
    if tuple(a.shape) != cfg.out_shape:
        hint = shape_hint(cfg, tuple(a.shape))
        raise Wrong(f"{FORWARD}: out has shape {describe_shape(a)}, expected "
                    f"{describe_shape(np.empty(cfg.out_shape))} on {cfg.describe()}." + hint,
                    "out", "H_out = 1 + (H - pool_height) // stride =" not in hint)
    try:
        return expect_array(out, fn=FORWARD, what="out", shape=cfg.out_shape, device=device)
    except Fail as exc:
        raise Wrong(f"{exc} (on {cfg.describe()})", "out") from None


def _dx_array(cfg: Config, dx, device) -> np.ndarray:
    a = unwrap(dx, fn=BACKWARD, what="dx", device=device)
    if tuple(a.shape) != cfg.x_shape:
        hint = " Hint: dx has the shape of x, (N, C, H, W)."
        if tuple(a.shape) == cfg.out_shape:
            hint = (" Hint: you returned something shaped like dout; dx has the shape of x: start "
                    "from zeros like x and route each dout[n, c, i, j] into its window")
        raise Wrong(f"{BACKWARD}: dx has shape {describe_shape(a)}, expected "
                    f"{describe_shape(np.empty(cfg.x_shape))} (the shape of x) on "
                    f"{cfg.describe()}." + hint, "dx", True)
    try:
        return expect_array(dx, fn=BACKWARD, what="dx", shape=cfg.x_shape, device=device)
    except Fail as exc:
        raise Wrong(f"{exc} (on {cfg.describe()})", "dx") from None


def run_forward(ctx, cfgs, *, judge_out: bool = True, inputs: list | None = None,
                prefix: bool = False):
    """The student's forward on each configuration, in one round trip.

    Returns:
        [(cfg, inputs, out or the Fail explaining why out is malformed, cache handle)]; with
        ``judge_out`` False ``out`` is None (backward checks judge the backward pass even when
        the forward output is wrong). With ``prefix``: ``(that list, raised)`` where the list
        stops before the configuration whose call raised (see :func:`_map_prefix`).
    """
    inputs = inputs or [make_inputs(ctx.rng, c) for c in cfgs]
    argsets = [((d["x"],) + cfg.args, {}) for cfg, d in zip(cfgs, inputs)]
    if prefix:
        results, raised = _map_prefix(ctx, FORWARD, argsets, list(cfgs), keep=(1,))
    else:
        results, raised = _map(ctx, FORWARD, argsets, list(cfgs), keep=(1,)), None
    done = []
    for cfg, d, r in zip(cfgs, inputs, results):
        out, cache = expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")
        if judge_out:
            try:
                out = _out_array(cfg, out, ctx.tensor_device)
            except Fail as exc:
                out = exc
        done.append((cfg, d, out if judge_out else None, cache))
    return (done, raised) if prefix else done


def run_backward(ctx, done: list, prefix: bool = False):
    """The student's backward on each forward result; [(cfg, inputs, out, dx as returned)]
    (with ``prefix``: ``(that list, raised)``, as :func:`run_forward`)."""
    argsets = [((d["dout"], cache), {}) for _, d, _, cache in done]
    cfgs = [c for c, *_ in done]
    if prefix:
        results, raised = _map_prefix(ctx, BACKWARD, argsets, cfgs)
    else:
        results, raised = _map(ctx, BACKWARD, argsets, cfgs), None
    cases = [(cfg, d, out, r) for (cfg, d, out, _), r in zip(done, results)]
    return (cases, raised) if prefix else cases


#: dx of a configuration whose backward call was not made (an earlier one raised).
NOT_RUN = object()


def _staged(ctx, cfgs, check, what: str, backward: bool, judge_out: bool = True) -> None:
    """Run the forward (and the backward) on ``cfgs`` and :func:`judge` the results with
    ``check``. When the student's code raised on one configuration, the others are still judged
    as far as they ran (a configuration whose backward was not reached has ``dx`` NOT_RUN): a
    wrong value fails the check and the crash is mentioned; otherwise the crash is the verdict
    (an error). The pattern of features is claimed only when nothing raised."""
    cases, raised = run_forward(ctx, cfgs, judge_out=judge_out, prefix=True)
    if backward:
        done, raised_bwd = run_backward(ctx, cases, prefix=True)
        cases = done + [(cfg, d, out, NOT_RUN) for cfg, d, out, _ in cases[len(done):]]
        raised = raised_bwd or raised
    try:
        judge(cases, check, what, patterns=raised is None)
    except Fail as exc:
        if raised is None:
            raise
        cfg = getattr(raised, "cfg", None)
        where = f" on {cfg.describe()}" if cfg is not None else ""
        raise Fail(f"{exc}\n  Besides, {raised.fn} raised {raised.error.get('type', 'an error')}"
                   f"{where}: {str(raised.error.get('message', ''))[:200]}") from None
    if raised is not None:
        raise raised


def _close(got, expected, hint, *, fn, what, cfg) -> None:
    """assert_close; ``hint()`` is computed only when the values differ."""
    try:
        assert_close(got, expected, fn=fn, what=what, on=cfg.describe())
    except Fail as exc:
        text = hint()
        raise Wrong(str(exc) + (f"\n  Hint: {text}" if text else ""), what, bool(text)) from None


def _judge_out(cfg, d, out) -> None:
    if isinstance(out, Fail):
        raise out
    expected = pool_oracle(d["x"], *cfg.args)
    _close(out, expected, lambda: value_hint(out, expected, forward_variants(cfg, d["x"])),
           fn=FORWARD, what="out", cfg=cfg)


def _judge_dx(ctx, cfg, d, dx) -> None:
    if dx is NOT_RUN:
        return
    got = _dx_array(cfg, dx, ctx.tensor_device)
    _, expected = pool_oracle(d["x"], *cfg.args, d["dout"])
    _close(got, expected, lambda: value_hint(got, expected, backward_variants(cfg, d["x"], d["dout"])),
           fn=BACKWARD, what="dx", cfg=cfg)


# -- checks -----------------------------------------------------------------------------------------
def probe(ctx) -> None:
    """Signature probe: one forward and one backward; types, arity, shapes and dtypes."""
    cfg = Config(2, 2, 6, 4, 2, 2, 2)
    (_, _, out, dx), = run_backward(ctx, run_forward(ctx, [cfg]))
    if isinstance(out, Fail):
        raise out
    _dx_array(cfg, dx, ctx.tensor_device)


def check_forward(ctx) -> None:
    """out against torch.nn.functional.max_pool2d on the ten main configurations, and once with
    the contract's defaults (pool_height=2, pool_width=2, stride=2)."""
    _staged(ctx, CONFIGS, lambda c: _judge_out(c[0], c[1], c[2]), "out", backward=False)
    cfg = Config(2, 3, 6, 8, 2, 2, 2)
    d = make_inputs(ctx.rng, cfg)
    try:
        (r,) = _map(ctx, FORWARD, [((d["x"],), {})], [cfg], keep=(1,))
    except StudentRaised as exc:
        if exc.error.get("type") != "TypeError":
            raise
        raise Fail(f"{FORWARD}(x) with its default arguments raised TypeError: "
                   f"{exc.error.get('message', '')}. Hint: the contract's signature is "
                   f"{FORWARD}(x, pool_height=2, pool_width=2, stride=2)") from None
    out, _ = expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")
    try:
        _judge_out(cfg, d, _out_array(cfg, out, ctx.tensor_device))
    except Fail as exc:
        raise Fail(f"{FORWARD}(x) with its default arguments: {exc}\n  Hint: the defaults are "
                   "pool_height=2, pool_width=2, stride=2") from None


def _check_backward(ctx, cfgs) -> None:
    _staged(ctx, cfgs, lambda c: _judge_dx(ctx, c[0], c[1], c[3]), "dx", backward=True,
            judge_out=False)


def check_backward_dx(ctx) -> None:
    """dx (from the student's own cache) against torch autograd of max_pool2d where windows do
    not overlap."""
    _check_backward(ctx, DISJOINT)


def check_backward_overlap(ctx) -> None:
    """dx against autograd where windows overlap (stride < pool): gradients must add up."""
    _check_backward(ctx, OVERLAPPING)


def check_edge_configs(ctx) -> None:
    """Forward and backward on sizes that need the floor, N = C = 1, pool = input, 1x1 pools."""
    def check(case):
        cfg, d, out, dx = case
        wrong = []
        for judge_one in (lambda: _judge_out(cfg, d, out), lambda: _judge_dx(ctx, cfg, d, dx)):
            try:
                judge_one()
            except Fail as exc:
                wrong.append(exc)
        if len(wrong) == 2:       # both outputs wrong: report both, the forward's first
            raise Wrong(f"{wrong[0]}\n  Also wrong on this configuration: "
                        f"{str(wrong[1]).splitlines()[0]}", "out",
                        getattr(wrong[0], "diagnosed", False))
        if wrong:
            raise wrong[0]

    _staged(ctx, EDGE_CONFIGS, check, "out", backward=True)


def numerical_check(ctx) -> None:
    """maxpool_backward against central differences of the student's own maxpool_forward: every
    entry of a tiny overlapping input, random entries and directions of a realistic one. With
    distinct values no window's maximum changes under the step, so the forward is smooth there."""
    plans = []
    for cfg, full in ((TINY, True), (REALISTIC, False)):
        d = make_inputs(ctx.rng, cfg)
        coords = probe_coords(cfg.x_shape, ctx.rng, 10**6 if full else 12)
        dirs = [] if full else [ctx.rng.normal(size=cfg.x_shape) for _ in range(3)]
        plans.append((cfg, d, coords, dirs))
    analytic = [_dx_array(cfg, dx, ctx.tensor_device) for cfg, _, _, dx in
                run_backward(ctx, run_forward(ctx, [p[0] for p in plans], judge_out=False,
                                              inputs=[p[1] for p in plans]))]
    for (cfg, d, coords, dirs), grad in zip(plans, analytic):
        points = []

        def collect(pts):
            points.extend(pts)
            return [np.zeros(cfg.out_shape)] * len(pts)

        numerical_gradient(collect, {"x": d["x"]}, "x", d["dout"], coords, directions=dirs)
        outs = [expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")[0] for r in
                _map(ctx, FORWARD, [((p["x"],) + cfg.args, {}) for p in points],
                     [cfg] * len(points), keep=(1,))]
        values = iter([_out_array(cfg, o, ctx.tensor_device) for o in outs])
        num, num_dir = numerical_gradient(lambda pts: [next(values) for _ in pts], {"x": d["x"]},
                                          "x", d["dout"], coords, h=STEP, directions=dirs)
        compare_gradient(grad, num, coords, fn=BACKWARD, what="dx",
                         against=f"central differences of your {FORWARD}",
                         on=cfg.describe() + (" (every entry)" if not dirs else
                                              " (random entries and directions)"),
                         analytic_dir=[float(np.sum(grad * v)) for v in dirs], numeric_dir=num_dir,
                         hint=f"{BACKWARD} must be the derivative of your own {FORWARD} "
                              "(sum(dout * out)): each dout goes to its window's maximum")


def check_inputs_untouched(ctx) -> None:
    """x (forward) and dout (backward) come back unchanged, and a second backward on the same
    cache gives what a backward on a fresh cache gives."""
    cfg = Config(2, 3, 7, 7, 3, 3, 2)
    d = make_inputs(ctx.rng, cfg)
    (r, (args, kwargs)), = ctx.map(FORWARD, [((d["x"].copy(),) + cfg.args, {})], inputs=True,
                                   keep=(1,))
    assert_unchanged({"x": d["x"]}, args, kwargs, fn=FORWARD,
                     names=("x", "pool_height", "pool_width", "stride"))
    _, cache = expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")
    (_, (args, kwargs)), = ctx.map(BACKWARD, [((d["dout"].copy(), cache), {})], inputs=True)
    assert_unchanged({"dout": d["dout"]}, args, kwargs, fn=BACKWARD, names=("dout", "cache"))
    dout2 = ctx.rng.normal(size=cfg.out_shape)
    again = ctx.call(BACKWARD, dout2, cache)
    fresh_out, = ctx.map(FORWARD, [((d["x"],) + cfg.args, {})], keep=(1,))
    fresh = ctx.call(BACKWARD, dout2, expect_tuple(fresh_out, 2, fn=FORWARD, names="(out, cache)")[1])
    reused, clean = (_dx_array(cfg, g, ctx.tensor_device) for g in (again, fresh))
    if not np.allclose(reused, clean, rtol=1e-12, atol=1e-12):
        raise Fail(f"{BACKWARD} gives another dx when called a second time on the same cache "
                   f"than on a fresh one: the first call changed the cache of {FORWARD} in place "
                   f"(on {cfg.describe()}). Hint: do not write into cached tensors (+=, [...] =, "
                   "zero_(), scatter_add_ on a cached buffer); start dx from new zeros")
