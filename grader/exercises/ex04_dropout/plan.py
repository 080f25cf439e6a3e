"""The timing and counting plan of ex04 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.compare import expect_array
from grader.checks.performance import LOOP, Counted, Inputs, Plan, Timed, keep_cache, normal
from grader.checks.performance import with_thresholds
from grader.spec import Fail
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


def _oracle(ctx, inputs, value):
    """Inverted dropout: every output is 0 or x / (1 - p), and the kept fraction is within 0.05
    of 1 - p (4096 draws: 7 standard deviations)."""
    x, p = inputs.args[0], inputs.args[1]
    out = value[0] if isinstance(value, (tuple, list)) and value else value
    out = expect_array(out, fn="dropout_forward", what="out", shape=x.shape)
    kept = out != 0
    if not np.allclose(out[kept], x[kept] / (1 - p), rtol=1e-9, atol=1e-12):
        raise Fail(f"dropout_forward: the kept outputs are not x / (1 - p) with p = {p}")
    if abs(kept.mean() - (1 - p)) > 0.05:
        raise Fail(f"dropout_forward kept {kept.mean():.3f} of x, expected about {1 - p:.2f}")


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"dropout_forward": 7.6}

PLAN = with_thresholds(Plan(
        timed=(Timed("dropout_forward", "uniform_mask", _ex04_timed, 0.0, LOOP, oracle=_oracle),),
        counted=tuple(Counted(fn, _ex04_count(fn), {"n": 3}, (("n", 9, "the size of x"),),
                              {"n": "the elements of x"},
                              lambda sz: f"x of shape ({sz['n']}, {sz['n'] + 1})")
                      for fn in ("dropout_forward", "dropout_backward")),
        hint="draw the whole mask at once: rng.random(x.shape) >= p"), THRESHOLDS)
