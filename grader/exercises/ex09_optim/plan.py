"""The timing and counting plan of ex09 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

from grader.checks.performance import LOOP, Counted, Inputs, Plan, Timed, normal, recheck, \
    with_thresholds

FNS = ("sgd_momentum_update", "rmsprop_update", "adam_update")


def _timed(ctx, dtype):
    return Inputs([normal(ctx, (64, 64)), normal(ctx, (64, 64)), {"learning_rate": 1e-3}])


def _count(ctx, s):
    shape = (s["n"], s["n"] + 1)
    return (normal(ctx, shape), normal(ctx, shape), {"learning_rate": 1e-3}), {}


def _oracle(fn):
    def check(ctx, inputs, value):
        from grader.exercises.ex09_optim.oracles import DEFAULTS, updates
        w, dw, config = inputs.args
        hp = {k: config.get(k, d) for k, d in DEFAULTS[fn].items()}
        ups, _ = updates(fn, [dw], hp)
        recheck(value, [w + ups[0]], fn=fn, names=["next_w"], items=(0,))
    return check


#: CPU thresholds T (median(student)/median(reference)), from benchmarks/calibrate.py
#: (docs/performance.md); a course may override them.
THRESHOLDS = {"sgd_momentum_update": 2.6, "rmsprop_update": 3.3, "adam_update": 5.1}

PLAN = with_thresholds(Plan(
        timed=tuple(Timed(fn, "elementwise_update", _timed, 0.0, LOOP, oracle=_oracle(fn))
                    for fn in FNS),
        counted=tuple(Counted(fn, _count, {"n": 3}, (("n", 9, "the size of w"),),
                              {"n": "the elements of w"},
                              lambda sz: f"w of shape ({sz['n']}, {sz['n'] + 1})") for fn in FNS),
        hint="the update is elementwise: write it with array arithmetic on w, dw and the state"),
    THRESHOLDS)
