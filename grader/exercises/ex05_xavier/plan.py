"""The timing and counting plan of ex05 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.performance import (BATCH, LOOP, Counted, Inputs, Plan, Timed,  # noqa: F401
                                       cuda_pair, keep_cache, normal, with_thresholds)
from grader.runner import codec  # noqa: F401


# ex05 -------------------------------------------------------------------------------------------
def _ex05_timed(ctx, dtype):
    return Inputs([64, 64, codec.Rng(int(ctx.rng.integers(2**31))), 1.0])


def _ex05_count(ctx, s):
    return (s["n"], s["n"] + 1, codec.Rng(int(ctx.rng.integers(2**31))), 1.0), {}


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"xavier_uniform": 20, "xavier_normal": 7.4}

PLAN = with_thresholds(Plan(
        timed=(Timed("xavier_uniform", "xavier_uniform", _ex05_timed, 0.0, LOOP),
               Timed("xavier_normal", "xavier_normal", _ex05_timed, 0.0, LOOP)),
        counted=tuple(Counted(fn, _ex05_count, {"n": 3}, (("n", 9, "fan_in and fan_out"),),
                              {"n": "the entries of W"},
                              lambda sz: f"fan_in={sz['n']}, fan_out={sz['n'] + 1}")
                      for fn in ("xavier_uniform", "xavier_normal")),
        hint="draw the whole matrix in one call: rng.uniform(-a, a, size=(fan_in, fan_out))"), THRESHOLDS)
