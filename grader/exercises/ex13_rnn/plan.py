"""The timing and counting plan of ex13 (measured by :mod:`grader.checks.performance`).

A loop over the T time steps is part of the exercise (each state needs the previous one), so
nothing here grows T: the timed shapes have a large batch and short sequences, where a loop over
the batch costs N times the steps, and the counted sizes grow the batch N and the hidden size H
only. Every builder is keyed by a size dict (``RNN_CPU``, ``RNN_GPU``, the counted sizes).
"""
from __future__ import annotations

import math

from grader.checks.cuda import _cuda_compare, cuda_pair, torch_oracle
from grader.checks.performance import Counted, Inputs, Plan, Timed, keep_cache, normal, \
    with_thresholds
from grader.checks.compare import expect_tuple
from grader.exercises.ex13_rnn.configs import BWD, CLIP, FWD, clip_oracle

#: CPU timing shape: a large batch of short sequences (a loop over the batch costs N*T steps).
RNN_CPU = {"batch": {"N": 128, "T": 6, "D": 16, "H": 32}}
#: GPU: N=256 sequences of T=64 steps, D=H=1024 float32: cuDNN's forward + backward does about
#: 200 GFLOP, a few milliseconds.
RNN_GPU = {"N": 256, "T": 64, "D": 1024, "H": 1024}


def _arrays(ctx, s, dtype):
    N, T, D, H = s["N"], s["T"], s["D"], s["H"]
    return (normal(ctx, (N, T, D), dtype), normal(ctx, (N, H), dtype, 0.5),
            normal(ctx, (D, H), dtype, 1 / math.sqrt(D)), normal(ctx, (H, H), dtype, 1 / math.sqrt(H)),
            normal(ctx, (H,), dtype, 0.1), normal(ctx, (N, T, H), dtype))


def _fwd(shape):
    def build(ctx, dtype):
        return Inputs(list(_arrays(ctx, RNN_CPU[shape], dtype)[:5]))
    return build


def _bwd(shape):
    def build(ctx, dtype):
        arrays = _arrays(ctx, RNN_CPU[shape], dtype)
        cache = keep_cache(ctx, FWD, arrays[:5], {}, 1)
        return Inputs([arrays[5], cache], {}, list(arrays))
    return build


def _pair(ctx, dtype):
    arrays = _arrays(ctx, RNN_GPU, dtype)
    return Inputs(list(arrays[:5]), {}, list(arrays), {},
                  then={"fn": BWD, "args": [arrays[5]], "cache_index": 1})


def _count(fn):
    def build(ctx, s):
        if fn == CLIP:
            return ([normal(ctx, (s["E"],)), normal(ctx, (2, s["E"])), normal(ctx, (s["E"], 3))],
                    1.0), {}
        arrays = _arrays(ctx, {"N": s["N"], "T": 3, "D": 2, "H": s["H"]}, "float64")
        if fn == FWD:
            return arrays[:5], {}
        return (arrays[5], keep_cache(ctx, FWD, arrays[:5], {}, 1)), {}
    return build


def _rnn_oracle(x, h0, Wx, Wh, b):
    import torch
    h, _ = torch.rnn_tanh(x, h0.unsqueeze(0), [Wx.T, Wh.T, b, torch.zeros_like(b)], True, 1, 0.0,
                          False, False, True)
    return h


def _cuda_values(ctx) -> None:
    """float32 CUDA inputs: h and the five gradients on the device against float64 autograd of
    torch.rnn_tanh on the CPU; clip_grad_norm's tensors on the device and its norm."""
    import numpy as np
    arrays = _arrays(ctx, {"N": 4, "T": 5, "D": 3, "H": 6}, "float64")
    cuda_pair(ctx, FWD, BWD, list(arrays[:5]), {}, [arrays[5]], 1, _rnn_oracle, ["h"],
              ["dx", "dh0", "dWx", "dWh", "db"])
    grads = [ctx.rng.normal(size=(5, 4)).astype(np.float32) * 3, ctx.rng.normal(size=(4,)).astype(np.float32)]
    value = expect_tuple(ctx.call(CLIP, grads, 1.0), 2, fn=CLIP, names="(clipped, total_norm)")
    expected, _ = clip_oracle([g.astype(np.float64) for g in grads], 1.0)
    _cuda_compare(ctx, CLIP, list(value[0]), expected, ["clipped[0]", "clipped[1]"])


ORACLES = {FWD: torch_oracle(FWD, _rnn_oracle, 5, ["h"], items=(0,)),
           BWD: torch_oracle(BWD, _rnn_oracle, 5, ["dx", "dh0", "dWx", "dWh", "db"],
                             backward=True, items=(0, 1, 2, 3, 4))}
REFS = {FWD: "rnn", BWD: "rnn_grad"}

#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"rnn_forward[batch]": 58, "rnn_backward[batch]": 46}

PLAN = with_thresholds(Plan(
    timed=tuple(
        Timed(fn, REFS[fn], build(shape), 0.0, cause, f"{fn} on {what}", f"{fn}[{shape}]", (shape,),
              ORACLES[fn])
        for fn, build in ((FWD, _fwd), (BWD, _bwd))
        for shape, what, cause in (
            ("batch", "a batch of 128 short sequences (T=6, D=16, H=32)",
             "a Python loop over the batch (or over the hidden units); one matrix product per time "
             "step handles every sequence at once (the loop over time is fine)"),)),
    counted=(
        *(Counted(fn, _count(fn), {"N": 2, "H": 3},
                  (("N", 6, "the batch size N"), ("H", 9, "the hidden size H")),
                  {"N": "the batch", "H": "the hidden units"}) for fn in (FWD, BWD)),
        Counted(CLIP, _count(CLIP), {"E": 4}, (("E", 12, "the number of elements per tensor"),),
                {"E": "the elements of each tensor"}),
    ),
    gpu_timed=(Timed(FWD, "rnn_pair", _pair, 10.0,
                     "a Python loop over the batch, or host-device copies (.cpu(), .numpy(), .item())",
                     "rnn_forward + rnn_backward",
                     flops=lambda inp: 2.0 * inp.args[0].shape[0] * inp.args[0].shape[1] * (
                         inp.args[2].shape[0] + inp.args[3].shape[0]) * inp.args[2].shape[1],
                     oracle=ORACLES[BWD]),),
    gpu_values=_cuda_values,
    hint="loop over the T time steps only: x @ Wx for every step in one product, then one "
         "h_{t-1} @ Wh per step for the whole batch"), THRESHOLDS)
