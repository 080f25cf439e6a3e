"""The timing and counting plan of ex05 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.compare import expect_array
from grader.checks.performance import LOOP, Counted, Inputs, Plan, Timed, normal  # noqa: F401
from grader.checks.performance import with_thresholds
from grader.spec import Fail
from grader.runner import codec  # noqa: F401


# ex05 -------------------------------------------------------------------------------------------
def _ex05_timed(ctx, dtype):
    return Inputs([64, 64, codec.Rng(int(ctx.rng.integers(2**31))), 1.0])


def _ex05_count(ctx, s):
    return (s["n"], s["n"] + 1, codec.Rng(int(ctx.rng.integers(2**31))), 1.0), {}


def _oracle(fn):
    def check(ctx, inputs, value):
        """Shape, bound (uniform) and the standard deviation within 15% (4096 draws: the
        sample standard deviation varies by about 1.1%)."""
        fan_in, fan_out, _, gain = inputs.args
        W = expect_array(value, fn=fn, what="W", shape=(fan_in, fan_out))
        a = gain * math.sqrt(6.0 / (fan_in + fan_out))
        sigma = gain * math.sqrt(2.0 / (fan_in + fan_out))
        if fn == "xavier_uniform" and np.max(np.abs(W)) > a:
            raise Fail(f"xavier_uniform: |W| reached {np.max(np.abs(W)):.4g} > a = {a:.4g}")
        if abs(W.std() / sigma - 1) > 0.15:
            raise Fail(f"{fn}: std(W) = {W.std():.4g}, expected {sigma:.4g}")
    return check


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"xavier_uniform": 25, "xavier_normal": 8.7}

PLAN = with_thresholds(Plan(
        timed=(Timed("xavier_uniform", "uniform", _ex05_timed, 0.0, LOOP,
                     oracle=_oracle("xavier_uniform")),
               Timed("xavier_normal", "normal", _ex05_timed, 0.0, LOOP,
                     oracle=_oracle("xavier_normal"))),
        counted=tuple(Counted(fn, _ex05_count, {"n": 3}, (("n", 9, "fan_in and fan_out"),),
                              {"n": "the entries of W"},
                              lambda sz: f"fan_in={sz['n']}, fan_out={sz['n'] + 1}")
                      for fn in ("xavier_uniform", "xavier_normal")),
        hint="draw the whole matrix in one call: rng.uniform(-a, a, size=(fan_in, fan_out))"), THRESHOLDS)
