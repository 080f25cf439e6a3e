"""The timing and counting plan of ex10 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

from grader.checks.performance import (LOOP, Counted, Inputs, Plan, Timed, keep_cache, normal,
                                       recheck, with_thresholds)


# ex10 -------------------------------------------------------------------------------------------
def _ex10_timed(ctx, dtype):
    # many samples, few features: a loop over the batch costs per sample (1024 iterations),
    # vectorised code per element (16384, as many as at (256, 64))
    d = 16
    return Inputs([normal(ctx, (1024, d)), normal(ctx, (d,)), normal(ctx, (d,)),
                   {"mode": "train", "running_mean": normal(ctx, (d,)),
                    "running_var": normal(ctx, (d,)) ** 2}])


def _ex10_count(fn):
    def build(ctx, s):
        n, d = s["N"], s["D"]
        args = (normal(ctx, (n, d)), normal(ctx, (d,)), normal(ctx, (d,)), {"mode": "train"})
        if fn == "batchnorm_forward":
            return args, {}
        return (normal(ctx, (n, d)), keep_cache(ctx, "batchnorm_forward", args, {}, 1)), {}
    return build


def _oracle(ctx, inputs, value):
    from grader.exercises.ex10_batchnorm.oracles import oracle_forward
    x, gamma, beta, bn = inputs.args
    out, _, _ = oracle_forward(x, gamma, beta, "train", running_mean=bn["running_mean"],
                               running_var=bn["running_var"])
    recheck(value, [out], fn="batchnorm_forward", names=["out"], items=(0,))


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"batchnorm_forward": 6.9}

PLAN = with_thresholds(Plan(
        timed=(Timed("batchnorm_forward", "standardise", _ex10_timed, 0.0, LOOP,
                     oracle=_oracle),),
        counted=tuple(Counted(fn, _ex10_count(fn), {"N": 3, "D": 4},
                              (("N", 9, "the batch size N"), ("D", 12, "the features D")),
                              {"N": "the samples of the batch", "D": "the features"},
                              lambda sz: f"x of shape ({sz['N']}, {sz['D']})")
                      for fn in ("batchnorm_forward", "batchnorm_backward")),
        hint="reduce over the batch with x.mean(axis=0) and x.var(axis=0); every other step is "
             "elementwise array arithmetic"), THRESHOLDS)
