"""ex06: calling the student's conv_forward and conv_backward, and unpacking what comes back.

Calls go per configuration so that a crash on one configuration leaves the others to be judged;
a malformed output is kept as the :class:`~grader.spec.Fail` that describes it, for the check
that judges that configuration to raise.
"""
from __future__ import annotations

import numpy as np

from grader.checks.compare import describe_shape, expect_array, expect_tuple, unwrap
from grader.engine import StudentRaised
from grader.exercises.ex06_conv.diagnose import _Wrong, _shape_candidates, _shape_hint, _special
from grader.exercises.ex06_conv.oracles import BACKWARD, FORWARD, Config
from grader.spec import Fail


def _annotated(exc: StudentRaised, cfg: Config, worked: list) -> StudentRaised:
    """``exc`` with the configuration it raised on (and what is special about it, compared with
    the configurations that ``worked``) added to the traceback the student sees."""
    worked = list(dict.fromkeys(c for c in worked if c != cfg))
    note = f"\n  (it raised on {cfg.describe()}"
    note += f", after {len(worked)} other configurations worked)" if worked else ")"
    special = _special(cfg, worked)
    if special:
        note += f"\n  Hint: {special}"
    error = dict(exc.error)
    error["traceback"] = (error.get("traceback") or "").rstrip() + note
    return StudentRaised(exc.fn, error)


def _map(ctx, fn: str, argsets: list, cfgs: list, **kw) -> list:
    """``ctx.map`` that, when the student raises, adds the configuration it raised on to the
    traceback (for many calls on one configuration: the perturbed points of a gradient check)."""
    before = ctx.calls
    try:
        return ctx.map(fn, argsets, **kw)
    except StudentRaised as exc:
        k = min(max(ctx.calls - before - 1, 0), len(cfgs) - 1)
        raise _annotated(exc, cfgs[k], cfgs[:k]) from None


def _map_each(ctx, fn: str, argsets: list, cfgs: list, **kw) -> list:
    """One call per configuration; an item is the return value, or the :class:`StudentRaised`
    (annotated) of a call that raised, so a crash on one configuration does not stop the others
    from being judged. One round trip when nothing raises."""
    try:
        return ctx.map(fn, argsets, **kw)
    except StudentRaised:
        pass
    out: list = []
    for k, (argset, cfg) in enumerate(zip(argsets, cfgs)):
        try:
            out.append(ctx.map(fn, [argset], **kw)[0])
        except StudentRaised as exc:
            worked = [c for c, r in zip(cfgs[:k], out) if not isinstance(r, StudentRaised)]
            out.append(_annotated(exc, cfg, worked))
    return out


def _forward(ctx, cases: list, judge_out: bool = True) -> list:
    """Run conv_forward on each ``(cfg, inputs)`` in one batch.

    Args:
        judge_out: check ``out`` (type, device, shape, dtype, finite); backward checks pass
            False, so that they judge the backward pass even when the forward output is wrong.

    Returns:
        [(cfg, inputs, out, cache)]: ``out`` the student's output as a float64 array of the
        contract's shape, or the :class:`Fail` that says why it is not one (judged per
        configuration, see :func:`_got`), or None when not judged; ``cache`` an opaque handle.

    Raises:
        Fail: a return value that is not a pair ``(out, cache)``.
    """
    argsets = [((d["x"], d["w"], d["b"], cfg.stride, cfg.pad), {}) for cfg, d in cases]
    results = _map_each(ctx, FORWARD, argsets, [c for c, _ in cases], keep=(1,))
    done = []
    for (cfg, d), r in zip(cases, results):
        if isinstance(r, StudentRaised):
            done.append((cfg, d, r, r))
            continue
        try:
            out, cache = expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")
        except Fail as exc:
            done.append((cfg, d, exc, exc))
            continue
        if judge_out:
            try:
                out = _out_array(cfg, out, ctx.tensor_device)
            except Fail as exc:
                out = exc
        done.append((cfg, d, out if judge_out else None, cache))
    return done


def _got(out) -> np.ndarray:
    """A judged output of :func:`_forward`, raising the failure or crash it holds instead."""
    if isinstance(out, (Fail, StudentRaised)):
        raise out
    return out


def _out_array(cfg: Config, out, device) -> np.ndarray:
    """The student's ``out`` as an array of the contract's shape, with a diagnosis otherwise."""
    a = unwrap(out, fn=FORWARD, what="out", device=device)
    if str(a.dtype) == "float32":
        raise Fail(f"{FORWARD}: out has dtype float32, expected float64 (the inputs' dtype) on "
                   f"{cfg.describe()}. Hint: torch.zeros(...) without dtype= makes float32 "
                   "tensors; use x.new_zeros(...) or torch.zeros(..., dtype=x.dtype, "
                   "device=x.device)")
    if tuple(a.shape) != cfg.out_shape:
        base = (f"{FORWARD}: out has shape {describe_shape(a)}, expected "
                f"{describe_shape(np.empty(cfg.out_shape))} on {cfg.describe()}.")
        exc = _Wrong(base + _shape_hint(cfg, tuple(a.shape)), "out", diagnosed=True)
        exc.base, exc.candidates = base, _shape_candidates(cfg, tuple(a.shape))
        raise exc
    return expect_array(out, fn=FORWARD, what="out", shape=cfg.out_shape, device=device)


def _backward(ctx, done: list) -> list:
    """Run conv_backward on each forward result ``(cfg, inputs, out, cache)`` in one batch.

    Returns:
        [(cfg, inputs, out, (dx, dw, db))] with the gradients as returned (each check judges
        the one it is about, see :func:`_grads`).
    """
    live = [k for k, (_, _, _, cache) in enumerate(done) if not isinstance(cache, Exception)]
    argsets = [((done[k][1]["dout"], done[k][3]), {}) for k in live]
    results = dict(zip(live, _map_each(ctx, BACKWARD, argsets, [done[k][0] for k in live])))
    out = []
    for k, (cfg, d, fwd_out, cache) in enumerate(done):
        r = results.get(k, cache)            # a forward that failed: its failure, for every grad
        if not isinstance(r, Exception):
            try:
                r = expect_tuple(r, 3, fn=BACKWARD, names="(dx, dw, db)")
            except Fail as exc:
                r = exc
        out.append((cfg, d, fwd_out, r))
    return out


def _grads(cfg: Config, grads: tuple, dev, only: str | None = None) -> tuple:
    """Unwrap (dx, dw, db), checking type, device, dtype, shape and finiteness.

    Args:
        only: check just this one ("dx", "dw" or "db"; the others come back as None), so the
            dw check does not fail for a wrong dx and so on.

    Raises:
        _Wrong: naming the gradient; a wrongly shaped dx gets its own diagnosis (``pad:-pad``).
        Fail, StudentRaised: what the forward or backward call of this configuration met.
    """
    if isinstance(grads, Exception):
        raise grads
    dx, dw, db = grads
    a = unwrap(dx, fn=BACKWARD, what="dx", device=dev) if only in (None, "dx") else None
    if a is not None and tuple(a.shape) != cfg.x_shape:
        hint = " Hint: dx has the shape of x."
        padded = (cfg.N, cfg.C, cfg.H + 2 * cfg.pad, cfg.W + 2 * cfg.pad)
        if cfg.pad == 0 and 0 in a.shape:
            hint = (" Hint: with pad = 0, `dx_pad[:, :, pad:-pad, pad:-pad]` is "
                    "`dx_pad[:, :, 0:0, 0:0]`, an empty slice; use dx_pad[:, :, pad:pad + H, "
                    "pad:pad + W]")
        elif tuple(a.shape) == padded:
            hint = " Hint: you returned the gradient of the padded input; cut the padding off"
        raise _Wrong(f"{BACKWARD}: dx has shape {describe_shape(a)}, expected "
                     f"{describe_shape(np.empty(cfg.x_shape))} (the shape of x) on "
                     f"{cfg.describe()}." + hint, "dx",
                     diagnosed=hint != " Hint: dx has the shape of x.")
    arrays = []
    for name, value, shape in (("dx", dx, cfg.x_shape), ("dw", dw, cfg.w_shape), ("db", db, (cfg.F,))):
        if only not in (None, name):
            arrays.append(None)
            continue
        try:
            arrays.append(expect_array(value, fn=BACKWARD, what=name, shape=shape, device=dev))
        except Fail as exc:
            raise _Wrong(f"{exc} (on {cfg.describe()})", name) from None
    return tuple(arrays)
