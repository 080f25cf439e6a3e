"""The timing and counting plan of ex07 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.cuda import cuda_pair, torch_oracle
from grader.checks.performance import Counted, Inputs, Plan, Timed, keep_cache, normal, \
    with_thresholds
from grader.runner import codec  # noqa: F401


# ex07 LSTM --------------------------------------------------------------------------------------
#: CPU timing shapes: a large batch of small cells (a loop over the batch dominates) and a few
#: wide cells (a loop over the hidden units dominates).
LSTM_CPU = {
    "batch": {"N": 512, "D": 32, "H": 32},
    "hidden": {"N": 16, "D": 32, "H": 256},
}
LSTM_GPU = {"N": 4096, "D": 1024, "H": 1024}


def _lstm_arrays(ctx, s, dtype):
    N, D, H = s["N"], s["D"], s["H"]
    return (normal(ctx, (N, D), dtype), normal(ctx, (N, H), dtype), normal(ctx, (N, H), dtype),
            normal(ctx, (D, 4 * H), dtype, 1 / math.sqrt(D)),
            normal(ctx, (H, 4 * H), dtype, 1 / math.sqrt(H)), normal(ctx, (4 * H,), dtype),
            normal(ctx, (N, H), dtype), normal(ctx, (N, H), dtype))


def _lstm_fwd(shape):
    def build(ctx, dtype):
        return Inputs(list(_lstm_arrays(ctx, LSTM_CPU[shape], dtype)[:6]))
    return build


def _lstm_bwd(shape):
    def build(ctx, dtype):
        arrays = _lstm_arrays(ctx, LSTM_CPU[shape], dtype)
        cache = keep_cache(ctx, "lstm_step_forward", arrays[:6], {}, 2)
        return Inputs([arrays[6], arrays[7], cache], {}, list(arrays))
    return build


def _lstm_pair(ctx, dtype):
    arrays = _lstm_arrays(ctx, LSTM_GPU, dtype)
    return Inputs(list(arrays[:6]), {}, list(arrays), {},
                  then={"fn": "lstm_step_backward", "args": [arrays[6], arrays[7]], "cache_index": 2})


def _lstm_count(fn):
    def build(ctx, s):
        arrays = _lstm_arrays(ctx, {"N": s["N"], "D": 3, "H": s["H"]}, "float64")
        if fn == "lstm_step_forward":
            return arrays[:6], {}
        return (arrays[6], arrays[7], keep_cache(ctx, "lstm_step_forward", arrays[:6], {}, 2)), {}
    return build


def _lstm_oracle(x, h, c, Wx, Wh, b):
    import torch
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    i, f, o = (torch.sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
    g = torch.tanh(a[:, 3 * H:])
    nc = f * c + i * g
    return o * torch.tanh(nc), nc


def _lstm_cuda_values(ctx) -> None:
    arrays = _lstm_arrays(ctx, {"N": 4, "D": 5, "H": 6}, "float64")
    cuda_pair(ctx, "lstm_step_forward", "lstm_step_backward", list(arrays[:6]), {},
               list(arrays[6:]), 2, _lstm_oracle, ["next_h", "next_c"],
               ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"])


ORACLES = {"lstm_step_forward": torch_oracle("lstm_step_forward", _lstm_oracle, 6,
                                           ["next_h", "next_c"], items=(0, 1)),
           "lstm_step_backward": torch_oracle(
               "lstm_step_backward", _lstm_oracle, 6, ["dx", "dprev_h", "dprev_c", "dWx", "dWh",
                                                       "db"], backward=True,
               items=(0, 1, 2, 3, 4, 5))}
REFS = {"lstm_step_forward": "lstm_cell", "lstm_step_backward": "lstm_cell_grad"}

#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"lstm_step_forward[batch]": 48, "lstm_step_forward[hidden]": 31,
              "lstm_step_backward[batch]": 37, "lstm_step_backward[hidden]": 21}

PLAN = with_thresholds(Plan(
        timed=tuple(
            Timed(fn, REFS[fn], build(shape), 0.0, cause, f"{fn} on {what}", f"{fn}[{shape}]",
                  (shape,), ORACLES[fn])
            for fn, build in (("lstm_step_forward", _lstm_fwd), ("lstm_step_backward", _lstm_bwd))
            for shape, what, cause in (
                ("batch", "a large batch of small cells (N=512, H=32)",
                 "a Python loop over the batch; one matrix product x @ Wx + prev_h @ Wh + b "
                 "computes the gates of every sample"),
                ("hidden", "a few wide cells (N=16, H=256)",
                 "a Python loop over the hidden units; compute all four gates as (N, 4H) blocks "
                 "and slice their columns"))),
        counted=tuple(Counted(fn, _lstm_count(fn), {"N": 2, "H": 4},
                              (("N", 6, "the batch size N"), ("H", 12, "the hidden size H")),
                              {"N": "the batch", "H": "the hidden units"})
                      for fn in ("lstm_step_forward", "lstm_step_backward")),
        gpu_timed=(Timed("lstm_step_forward", "lstm_pair", _lstm_pair, 10.0,
                         "a Python loop, or host-device copies (.cpu(), .numpy(), .item())",
                         "lstm_step_forward + lstm_step_backward",
                         flops=lambda inp: 2.0 * inp.args[0].shape[0] * (
                             inp.args[3].shape[0] + inp.args[4].shape[0]) * inp.args[3].shape[1],
                         oracle=ORACLES["lstm_step_backward"]),),
        gpu_values=_lstm_cuda_values,
        hint="one matrix product x @ Wx + prev_h @ Wh + b for all four gates, then slice columns"), THRESHOLDS)
