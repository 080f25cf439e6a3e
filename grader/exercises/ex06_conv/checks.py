"""Checks of ex06 (the exercise is declared in ``__init__``; see its docstring).

The configurations and the oracle are in :mod:`.oracles`, the diagnosis of wrong outputs in
:mod:`.diagnose`. Every gradient is judged against the oracle; the numerical check differentiates
the student's own conv_forward only where it agrees with the oracle.
"""
from __future__ import annotations

import numpy as np

from grader.checks.common import Findings, assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import expect_tuple, rel_error
from grader.checks.gradients import (H as STEP, compare_gradient, numerical_gradient,
                                     probe_coords, reference_values)
from grader.exercises.ex06_conv.calls import (_backward, _forward, _got, _grads, _map,
                                              _out_array)
from grader.exercises.ex06_conv.diagnose import (FEATURES, _close, _db_hint, _forward_hint,  # noqa: F401
                                                 _judge, _matcher, _shape_hint, _special)
from grader.exercises.ex06_conv.oracles import (BACKWARD, CONFIGS, EDGE_CONFIGS, FORWARD,
                                                REALISTIC, TINY, Config, _flipped_grads, _inputs,
                                                _unread, conv_oracle)
from grader.spec import Check, Exercise, Fail, Function


def _cases(ctx, cfgs) -> list:
    return [(cfg, _inputs(ctx.rng, cfg)) for cfg in cfgs]


def probe(ctx) -> None:
    """Signature probe: one forward and one backward on a small non-square configuration."""
    cfg = Config(2, 2, 5, 4, 3, 3, 3, 1, 1)
    (_, _, out, grads), = _backward(ctx, _forward(ctx, _cases(ctx, [cfg])))
    _got(out)
    _grads(cfg, grads, ctx.tensor_device)


def check_forward(ctx, cfgs=CONFIGS) -> None:
    """``out`` of conv_forward against torch.nn.functional.conv2d on every configuration of
    ``cfgs`` (one batch of calls). Fails naming, for every distinct mistake, its first wrong
    configuration, the mistake when it is recognised (flipped kernel, missing bias, one-sided
    padding, or from the shape: rounding, HH for WW, stride ignored...) and the feature the
    configurations wrong that way share."""
    done = _forward(ctx, _cases(ctx, cfgs))

    def judge(case):
        cfg, d, out, _ = case
        out = _got(out)
        expected = conv_oracle(d["x"], d["w"], d["b"], cfg.stride, cfg.pad)
        _close(out, expected, lambda: _forward_hint(cfg, d, out), fn=FORWARD, what="out",
               on=cfg.describe())

    _judge(done, judge, "out")


def _backward_cases(ctx, cfgs, judge_out: bool = False) -> list:
    """Forward then backward on seeded inputs for each configuration, with the oracle's answers.

    Returns:
        [(cfg, inputs, student out or None, student (dx, dw, db) as returned,
        oracle (out, dx, dw, db))].
    """
    done = _forward(ctx, _cases(ctx, cfgs), judge_out)
    return [(cfg, d, out, grads, conv_oracle(d["x"], d["w"], d["b"], cfg.stride, cfg.pad, d["dout"]))
            for cfg, d, out, grads in _backward(ctx, done)]


def check_backward_dx(ctx) -> None:
    """dx of conv_backward (on the student's own cache) against torch autograd of conv2d on the
    main configurations; a wrongly shaped dx (``pad:-pad`` with pad = 0) is diagnosed."""
    cases = _backward_cases(ctx, CONFIGS)

    def judge(case):
        cfg, d, _, got, exp = case
        dx, _, _ = _grads(cfg, got, ctx.tensor_device, only="dx")

        def hint():
            if _matcher(dx)(_flipped_grads(cfg, d)[0]):
                return ("your dx is that of a true convolution (kernel flipped): the forward is a "
                        "cross-correlation, so dx_pad[n, c, i*stride + p, j*stride + q] += "
                        "w[f, c, p, q] * dout[n, f, i, j], with w not flipped")
            if not np.any(dx):
                return "dx is all zeros: every window adds w * dout back onto the input it read"
            return ""

        _close(dx, exp[1], hint, fn=BACKWARD, what="dx", on=cfg.describe())

    _judge(cases, judge, "dx")


def check_backward_dw(ctx) -> None:
    """dw of conv_backward against torch autograd; recognises a flipped dw and a batch mean."""
    cases = _backward_cases(ctx, CONFIGS)

    def judge(case):
        cfg, d, _, got, exp = case
        _, dw, _ = _grads(cfg, got, ctx.tensor_device, only="dw")

        def hint():
            same = _matcher(dw)
            if same(exp[2][:, :, ::-1, ::-1]):
                return ("your dw is flipped by 180 degrees (a true convolution): dw[f, c, p, q] = "
                        "sum dout[n, f, i, j] * x_pad[n, c, i*stride + p, j*stride + q]")
            if cfg.N > 1 and same(exp[2] / cfg.N):
                return f"your dw is the mean over the batch (divided by N={cfg.N}); it must be the sum"
            return ""

        _close(dw, exp[2], hint, fn=BACKWARD, what="dw", on=cfg.describe())

    _judge(cases, judge, "dw")


def check_backward_db(ctx) -> None:
    """db of conv_backward against torch autograd; recognises the usual averages."""
    cases = _backward_cases(ctx, CONFIGS)

    def judge(case):
        cfg, d, _, got, exp = case
        _, _, db = _grads(cfg, got, ctx.tensor_device, only="db")
        _close(db, exp[3], lambda: _db_hint(cfg, db, exp[3]), fn=BACKWARD, what="db",
               on=cfg.describe())

    _judge(cases, judge, "db")


def check_edge_configs(ctx) -> None:
    """Forward and backward on output sizes that need the floor and other edge shapes (a kernel
    larger than the unpadded input among them). out, dx, dw and db are judged each on every
    configuration, so one wrong output does not hide another."""
    cases = _backward_cases(ctx, EDGE_CONFIGS, judge_out=True)
    dev = ctx.tensor_device

    def judge_out(case):
        cfg, d, out, _, exp = case
        out = _got(out)
        _close(out, exp[0], lambda: _forward_hint(cfg, d, out), fn=FORWARD, what="out",
               on=cfg.describe())

    def judge_grad(name):
        k = ("dx", "dw", "db").index(name)

        def judge(case):
            cfg, d, _, got, exp = case
            g = _grads(cfg, got, dev, only=name)[k]
            e = exp[1 + k]

            def hint():
                if name == "db":
                    return _db_hint(cfg, g, e)
                if name == "dx" and np.any(g[:, :, _unread(cfg)] != 0):
                    return ("rows/columns of the input past the last window are never read, so "
                            "their gradient is zero; yours is not")
                return ""
            _close(g, e, hint, fn=BACKWARD, what=name, on=cfg.describe())
        return judge

    found = Findings()
    for what, judge in (("out", judge_out), ("dx", judge_grad("dx")), ("dw", judge_grad("dw")),
                        ("db", judge_grad("db"))):
        with found.judge():
            _judge(cases, judge, what)
    found.done()


def numerical_check(ctx) -> None:
    """conv_backward against central differences of the convolution (the student's own
    conv_forward where it agrees with the oracle at every point, else the oracle's): every entry
    on a tiny shape, random entries plus random directions on a realistic one."""
    plans = []
    for cfg, full in ((TINY, True), (REALISTIC, False)):
        d = _inputs(ctx.rng, cfg)
        probes = {}
        for name in ("x", "w", "b"):
            shape = d[name].shape
            coords = probe_coords(shape, ctx.rng, 10**6 if full else (cfg.F if name == "b" else 10))
            dirs = [] if full else [ctx.rng.normal(size=shape) for _ in range(2 if name == "b" else 3)]
            probes[name] = (coords, dirs)
        plans.append((cfg, d, probes))

    # The student's analytic gradients at each base point (one forward + one backward each; the
    # forward's output is not judged here: the backward is judged whatever the forward returns).
    done = _forward(ctx, [(cfg, d) for cfg, d, _ in plans], judge_out=False)
    analytic = [_grads(cfg, grads, ctx.tensor_device) for cfg, _, _, grads in _backward(ctx, done)]

    for (cfg, d, probes), grads in zip(plans, analytic):
        # Every perturbed point of x, w and b in one batch of forward calls.
        points, spans = [], {}
        for name in ("x", "w", "b"):
            coords, dirs = probes[name]
            start = len(points)
            for c in coords:
                for sign in (1.0, -1.0):
                    p = {k: d[k] for k in ("x", "w", "b")}
                    p[name] = d[name].copy()
                    p[name][c] += sign * STEP
                    points.append(p)
            for v in dirs:
                for sign in (1.0, -1.0):
                    p = {k: d[k] for k in ("x", "w", "b")}
                    p[name] = d[name] + sign * STEP * v
                    points.append(p)
            spans[name] = (start, len(points))
        argsets = [((p["x"], p["w"], p["b"], cfg.stride, cfg.pad), {}) for p in points]
        outs = _map(ctx, FORWARD, argsets, [cfg] * len(argsets), keep=(1,))
        spec = [conv_oracle(p["x"], p["w"], p["b"], cfg.stride, cfg.pad) for p in points]
        try:
            own = [_out_array(cfg, expect_tuple(o, 2, fn=FORWARD, names="(out, cache)")[0],
                              ctx.tensor_device) for o in outs]
        except Fail:
            own = []
        values, own_used = reference_values(own, spec)
        against = ("central differences of your conv_forward" if own_used else "central "
                   "differences of the correct convolution (your conv_forward is wrong here too: "
                   "see forward_values)")
        shape = "every entry" if cfg is TINY else "random entries and directions"
        for name, g in zip(("x", "w", "b"), grads):
            coords, dirs = probes[name]
            lo, hi = spans[name]
            chunk = values[lo:hi]

            def evaluate_many(pts, chunk=chunk):
                # Already evaluated above, in numerical_gradient's order (coordinates +h, -h,
                # then directions +h, -h): one round trip for x, w and b together.
                assert len(pts) == len(chunk)
                return chunk

            num, num_dir = numerical_gradient(evaluate_many, d, name, d["dout"], coords,
                                              directions=dirs)
            compare_gradient(g, num, coords, fn=BACKWARD, what=f"d{name}", against=against,
                             on=f"{cfg.describe()} ({shape})",
                             analytic_dir=[float(np.sum(g * v)) for v in dirs], numeric_dir=num_dir,
                             hint="conv_backward is the derivative of the convolution "
                                  "(sum(dout * out)); check how each window's dout is spread back")


def check_inputs_untouched(ctx) -> None:
    """x, w, b (forward) and dout (backward) come back unchanged; the cache survives a backward."""
    cfg = Config(2, 3, 7, 5, 3, 3, 3, 2, 1)
    d = _inputs(ctx.rng, cfg)
    (r, (args, kwargs)), = ctx.map(FORWARD, [((d["x"].copy(), d["w"].copy(), d["b"].copy(),
                                              cfg.stride, cfg.pad), {})], inputs=True, keep=(1,))
    assert_unchanged({"x": d["x"], "w": d["w"], "b": d["b"]}, args, kwargs, fn=FORWARD,
                     names=("x", "w", "b", "stride", "pad"))
    _, cache = expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")
    (g1, (args, kwargs)), = ctx.map(BACKWARD, [((d["dout"].copy(), cache), {})], inputs=True)
    assert_unchanged({"dout": d["dout"]}, args, kwargs, fn=BACKWARD, names=("dout", "cache"))
    # A second backward on the same cache must give what a backward on a fresh cache gives (the
    # student's own answers compared with each other: right or wrong, they must not drift).
    dout2 = ctx.rng.normal(size=cfg.out_shape)
    again, = ctx.map(BACKWARD, [((dout2, cache), {})])
    fresh_out, = ctx.map(FORWARD, [((d["x"], d["w"], d["b"], cfg.stride, cfg.pad), {})], keep=(1,))
    fresh, = ctx.map(BACKWARD, [((dout2, expect_tuple(fresh_out, 2, fn=FORWARD,
                                                       names="(out, cache)")[1]), {})])
    dev = ctx.tensor_device
    reused = _grads(cfg, expect_tuple(again, 3, fn=BACKWARD, names="(dx, dw, db)"), dev)
    clean = _grads(cfg, expect_tuple(fresh, 3, fn=BACKWARD, names="(dx, dw, db)"), dev)
    for name, g, e in zip(("dx", "dw", "db"), reused, clean):
        if not np.allclose(g, e, rtol=1e-12, atol=1e-12):
            raise Fail(f"{BACKWARD} gives another {name} when called a second time on the same "
                       f"cache than on a fresh one (relative error {rel_error(g, e):.2g}): the first "
                       f"call changed the cache from {FORWARD} in place. Hint: do not write into "
                       "cached tensors (+=, [...] =, zero_() and other *_ methods); allocate new "
                       "buffers such as torch.zeros_like(x_pad)")
