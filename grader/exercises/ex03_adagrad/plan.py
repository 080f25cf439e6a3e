"""The timing and counting plan of ex03 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.performance import LOOP, Counted, Inputs, Plan, Timed, normal, recheck, \
    with_thresholds


# ex03 -------------------------------------------------------------------------------------------
def _ex03_timed(ctx, dtype):
    w, dw = normal(ctx, (64, 64)), normal(ctx, (64, 64))
    config = {"learning_rate": 1e-2, "epsilon": 1e-10, "cache": np.abs(normal(ctx, (64, 64)))}
    return Inputs([w, dw, config])


def _ex03_count(ctx, s):
    shape = (s["n"], s["n"] + 1)
    return (normal(ctx, shape), normal(ctx, shape), {"learning_rate": 1e-2}), {}


def _oracle(ctx, inputs, value):
    from grader.exercises.ex03_adagrad.checks import oracle_updates
    w, dw, config = inputs.args
    updates, caches = oracle_updates([dw], config["learning_rate"], config["epsilon"],
                                     config["cache"])
    recheck(value, [w + updates[0]], fn="adagrad_update", names=["next_w"], items=(0,))


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"adagrad_update": 2.6}

PLAN = with_thresholds(Plan(
        timed=(Timed("adagrad_update", "elementwise_update", _ex03_timed, 0.0, LOOP,
                     oracle=_oracle),),
        counted=(Counted("adagrad_update", _ex03_count, {"n": 3}, (("n", 9, "the size of w"),),
                         {"n": "the elements of w"},
                         lambda sz: f"w of shape ({sz['n']}, {sz['n'] + 1})"),),
        hint="the update is elementwise: write it with array arithmetic on w, dw and the cache"), THRESHOLDS)
