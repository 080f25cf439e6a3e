"""The timing and counting plan of ex04 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.performance import (BATCH, LOOP, Counted, Inputs, Plan, Timed,  # noqa: F401
                                       cuda_pair, keep_cache, normal, with_thresholds)
from grader.runner import codec  # noqa: F401


# ex04 -------------------------------------------------------------------------------------------
def _ex04_timed(ctx, dtype):
    return Inputs([normal(ctx, (64, 64)), 0.3, True, codec.Rng(int(ctx.rng.integers(2**31)))])


def _ex04_count(fn):
    def build(ctx, s):
        shape = (s["n"], s["n"] + 1)
        x = normal(ctx, shape)
        rng = codec.Rng(int(ctx.rng.integers(2**31)))
        if fn == "dropout_forward":
            return (x, 0.3, True, rng), {}
        return (normal(ctx, shape), keep_cache(ctx, "dropout_forward", (x, 0.3, True, rng), {}, 1)), {}
    return build


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"dropout_forward": 23}

PLAN = with_thresholds(Plan(
        timed=(Timed("dropout_forward", "dropout_forward", _ex04_timed, 0.0, LOOP),),
        counted=tuple(Counted(fn, _ex04_count(fn), {"n": 3}, (("n", 9, "the size of x"),),
                              {"n": "the elements of x"},
                              lambda sz: f"x of shape ({sz['n']}, {sz['n'] + 1})")
                      for fn in ("dropout_forward", "dropout_backward")),
        hint="draw the whole mask at once: rng.random(x.shape) >= p"), THRESHOLDS)
