"""The timing and counting plan of ex02 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.performance import BATCH, Counted, Inputs, Plan, Timed, keep_cache, normal, \
    recheck, with_thresholds
from grader.exercises.ex02_backprop import oracles


# ex02 -------------------------------------------------------------------------------------------
#: Many samples with few features: a loop over the batch costs per sample, while a vectorised
#: implementation (matmul, or einsum without BLAS) costs per multiply-add.
def _ex02_affine(ctx, dtype):
    return Inputs([normal(ctx, (512, 2, 8), dtype), normal(ctx, (16, 8), dtype),
                   normal(ctx, (8,), dtype)])


def _ex02_softmax(ctx, dtype):
    return Inputs([normal(ctx, (256, 10), dtype, 3.0), ctx.rng.integers(0, 10, size=256)])


def _ex02_params(ctx, D, H, C):
    return {"W1": normal(ctx, (D, H), scale=0.1), "b1": normal(ctx, (H,), scale=0.1),
            "W2": normal(ctx, (H, C), scale=0.1), "b2": normal(ctx, (C,), scale=0.1)}


def _ex02_two_layer(ctx, dtype):
    return Inputs([normal(ctx, (512, 16)), ctx.rng.integers(0, 10, size=512),
                   _ex02_params(ctx, 16, 16, 10)], {"reg": 0.1})


def _ex02_count(fn):
    def build(ctx, s):
        N, D, M = s["N"], s["D"], 5
        if fn == "affine_forward":
            return (normal(ctx, (N, D)), normal(ctx, (D, M)), normal(ctx, (M,))), {}
        if fn == "affine_backward":
            x, w, b = normal(ctx, (N, D)), normal(ctx, (D, M)), normal(ctx, (M,))
            return (normal(ctx, (N, M)), keep_cache(ctx, "affine_forward", (x, w, b), {}, 1)), {}
        if fn == "relu_forward":
            return (normal(ctx, (N, D)),), {}
        if fn == "relu_backward":
            x = normal(ctx, (N, D))
            return (normal(ctx, (N, D)), keep_cache(ctx, "relu_forward", (x,), {}, 1)), {}
        if fn == "softmax_loss":
            return (normal(ctx, (N, M)), ctx.rng.integers(0, M, size=N)), {}
        return (normal(ctx, (N, D)), ctx.rng.integers(0, M, size=N),
                _ex02_params(ctx, D, 6, M)), {"reg": 0.1}
    return build


def _check_affine(ctx, inputs, value):
    recheck(value, [oracles.oracle_affine(*inputs.args)], fn="affine_forward", names=["out"],
            items=(0,))


def _check_softmax(ctx, inputs, value):
    recheck(value, [oracles.oracle_softmax_loss(*inputs.args)], fn="softmax_loss",
            names=["loss"], items=(0,))


def _check_two_layer(ctx, inputs, value):
    X, y, p = inputs.args
    recheck(value, [oracles.oracle_two_layer(X, y, p["W1"], p["b1"], p["W2"], p["b2"],
                                             inputs.kwargs["reg"])],
            fn="two_layer_loss", names=["loss"], items=(0,))


#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"affine_forward": 23, "softmax_loss": 6.0, "two_layer_loss": 20}

PLAN = with_thresholds(Plan(
        timed=(Timed("affine_forward", "matmul_bias", _ex02_affine, 0.0, BATCH,
                     oracle=_check_affine),
               Timed("softmax_loss", "log_softmax_nll", _ex02_softmax, 0.0, BATCH,
                     oracle=_check_softmax),
               Timed("two_layer_loss", "mlp_nll", _ex02_two_layer, 0.0, BATCH,
                     oracle=_check_two_layer)),
        counted=tuple(Counted(fn, _ex02_count(fn), {"N": 3, "D": 4},
                              (("N", 9, "the batch size N"),) +
                              ((("D", 12, "the input size D"),) if fn != "softmax_loss" else ()),
                              {"N": "the samples of the batch", "D": "the features"})
                      for fn in ("affine_forward", "affine_backward", "relu_forward",
                                 "relu_backward", "softmax_loss", "two_layer_loss")),
        hint="one matrix product for the whole batch (x.reshape(N, -1) @ w), boolean masks for "
             "ReLU, fancy indexing scores[np.arange(N), y] for the loss"), THRESHOLDS)
