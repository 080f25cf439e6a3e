"""The timing and counting plan of ex12 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import numpy as np

from grader.checks.performance import LOOP, Counted, Inputs, Plan, Timed, normal, recheck, \
    with_thresholds


def _timed(ctx, dtype):
    X = normal(ctx, (512, 32))
    y = (normal(ctx, (512,)) > 0).astype(np.float64)
    return Inputs([normal(ctx, (32,)), 0.1, X, y, 0.1])


def _count(ctx, s):
    X = normal(ctx, (s["n"], 3))
    return (normal(ctx, (3,)), 0.1, X, (normal(ctx, (s["n"],)) > 0).astype(np.float64), 0.1), {}


def _oracle(ctx, inputs, value):
    from grader.exercises.ex12_logistic.oracles import oracle_loss
    loss, dw, db = oracle_loss(*inputs.args)
    recheck(value, [loss, dw, db], fn="logistic_loss", names=["loss", "dw", "db"],
            items=(0, 1, 2))


#: CPU thresholds T (median(student)/median(reference)), from benchmarks/calibrate.py.
THRESHOLDS = {"logistic_loss": 15}

PLAN = with_thresholds(Plan(
        timed=(Timed("logistic_loss", "logistic_work", _timed, 0.0, LOOP, oracle=_oracle),),
        counted=(Counted("logistic_loss", _count, {"n": 4}, (("n", 16, "the number of examples N"),),
                         {"n": "the examples"}, lambda sz: f"X of shape ({sz['n']}, 3)"),),
        hint="vectorise over the N examples: X @ w, X.T @ (p - y)"), THRESHOLDS)
