"""The timing and counting plan of ex01 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.performance import LOOP, Counted, Inputs, Plan, Timed, normal, recheck, \
    with_thresholds


# ex01 -------------------------------------------------------------------------------------------
def _ex01_timed(ctx, dtype):
    return Inputs([normal(ctx, (4096,), dtype, 4.0)])


def _oracle(fn):
    def check(ctx, inputs, value):
        from scipy.special import expit
        s = expit(inputs.args[0])
        recheck(value, [s if fn == "sigmoid" else s * (1 - s)], fn=fn, names=["the output"])
    return check


def _ex01_count(ctx, size):
    return (normal(ctx, (size["n"],), scale=4.0),), {}


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"sigmoid": 17, "sigmoid_grad": 32}

PLAN = with_thresholds(Plan(
        timed=(Timed("sigmoid", "expit", _ex01_timed, 0.0, LOOP, oracle=_oracle("sigmoid")),
               Timed("sigmoid_grad", "expit_grad", _ex01_timed, 0.0, LOOP,
                     oracle=_oracle("sigmoid_grad"))),
        counted=tuple(Counted(fn, _ex01_count, {"n": 16}, (("n", 64, "the size of z"),),
                              {"n": "the elements of z"}, lambda sz: f"z of {sz['n']} elements")
                      for fn in ("sigmoid", "sigmoid_grad")),
        hint="apply np.exp, np.where, arithmetic to the whole array at once"), THRESHOLDS)
