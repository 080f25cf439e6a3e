"""The timing and counting plan of ex06 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.cuda import cuda_pair, torch_oracle
from grader.checks.performance import Counted, Inputs, Plan, Timed, keep_cache, normal, \
    with_thresholds
from grader.runner import codec  # noqa: F401


# ex06 conv --------------------------------------------------------------------------------------
#: CPU timing shapes. A loop over the batch costs per sample, a loop over output positions costs
#: per position, while the reference's cost is per sample x position: one shape with many small
#: images and one with few large images make each kind of loop dominate in one of them.
CONV_CPU = {
    "batch": {"N": 128, "C": 3, "H": 6, "F": 8, "K": 3},
    "positions": {"N": 4, "C": 8, "H": 24, "F": 16, "K": 3},
}
CONV_GPU = {"N": 32, "C": 64, "H": 64, "F": 64, "K": 3}


def _conv_arrays(ctx, s, dtype):
    x = normal(ctx, (s["N"], s["C"], s["H"], s["H"]), dtype)
    w = normal(ctx, (s["F"], s["C"], s["K"], s["K"]), dtype, 1.0 / math.sqrt(s["C"] * 9))
    b = normal(ctx, (s["F"],), dtype)
    dout = normal(ctx, (s["N"], s["F"], s["H"], s["H"]), dtype)  # stride 1, pad 1, K 3
    return x, w, b, dout


def _conv_fwd(shape):
    def build(ctx, dtype):
        x, w, b, _ = _conv_arrays(ctx, CONV_CPU[shape], dtype)
        return Inputs([x, w, b], {"stride": 1, "pad": 1})
    return build


def _conv_bwd(shape):
    def build(ctx, dtype):
        x, w, b, dout = _conv_arrays(ctx, CONV_CPU[shape], dtype)
        cache = keep_cache(ctx, "conv_forward", (x, w, b), {"stride": 1, "pad": 1}, 1)
        return Inputs([dout, cache], {}, [x, w, b, dout], {"stride": 1, "pad": 1})
    return build


def _conv_pair(ctx, dtype):
    x, w, b, dout = _conv_arrays(ctx, CONV_GPU, dtype)
    return Inputs([x, w, b], {"stride": 1, "pad": 1}, [x, w, b, dout], {"stride": 1, "pad": 1},
                  then={"fn": "conv_backward", "args": [dout], "cache_index": 1})


def _conv_flops(inputs) -> float:
    """Forward multiply-adds of a stride-1, pad-1 convolution, divided by 2.25 (Winograd
    F(2x2, 3x3) needs that many fewer multiplications): a lower bound for the GPU floor."""
    (N, C, H, W), (F, _, K, _) = inputs.args[0].shape, inputs.args[1].shape
    return 2.0 * N * F * H * W * C * K * K / 2.25


def _conv_count(fn):
    def build(ctx, s):
        size = {"N": s["N"], "C": 2, "H": s["H"], "F": 3, "K": 3}
        x, w, b, dout = _conv_arrays(ctx, size, "float64")
        if fn == "conv_forward":
            return (x, w, b), {"stride": 1, "pad": 1}
        return (dout, keep_cache(ctx, "conv_forward", (x, w, b), {"stride": 1, "pad": 1}, 1)), {}
    return build


def _conv_cuda_values(ctx) -> None:
    import torch.nn.functional as F
    x, w, b, _ = _conv_arrays(ctx, {"N": 2, "C": 3, "H": 9, "F": 4, "K": 3}, "float64")
    dout = normal(ctx, (2, 4, 5, 5))  # stride 2, pad 1: 1 + (9 + 2 - 3) // 2 = 5
    cuda_pair(ctx, "conv_forward", "conv_backward", [x, w, b], {"stride": 2, "pad": 1}, [dout], 1,
               lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), ["out"], ["dx", "dw", "db"])


def _conv_ref(x, w, b, stride=1, pad=0):
    import torch.nn.functional as F
    return F.conv2d(x, w, b, stride=stride, padding=pad)


ORACLES = {"conv_forward": torch_oracle("conv_forward", _conv_ref, 3, ["out"], items=(0,)),
           "conv_backward": torch_oracle("conv_backward", _conv_ref, 3, ["dx", "dw", "db"],
                                         backward=True, items=(0, 1, 2))}
REFS = {"conv_forward": "conv2d", "conv_backward": "conv2d_grad"}

#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"conv_forward[batch]": 26, "conv_forward[positions]": 43,
              "conv_backward[batch]": 34, "conv_backward[positions]": 32}

PLAN = with_thresholds(Plan(
        timed=tuple(
            Timed(fn, REFS[fn], build(shape), 0.0, cause, f"{fn} on {what}", f"{fn}[{shape}]",
                  (shape,), ORACLES[fn])
            for fn, build in (("conv_forward", _conv_fwd), ("conv_backward", _conv_bwd))
            for shape, what, cause in (
                ("batch", "many small images (N=128, 6x6)",
                 "a Python loop over the batch; handle all N images at once: one im2col matrix "
                 "(unfold) and one matrix product"),
                ("positions", "few large images (N=4, 24x24)",
                 "a Python loop over output positions; gather every window at once with unfold "
                 "and use one matrix product (col2im may loop over the kernel offsets only)"))),
        counted=tuple(Counted(fn, _conv_count(fn), {"N": 2, "H": 5},
                              (("N", 6, "the batch size N"), ("H", 11, "the image size H = W")),
                              {"N": "the batch", "H": "output positions"})
                      for fn in ("conv_forward", "conv_backward")),
        gpu_timed=(Timed("conv_forward", "conv_pair", _conv_pair, 20.0,
                         "a Python loop, or host-device copies (.cpu(), .numpy(), .item())",
                         "conv_forward + conv_backward", flops=_conv_flops,
                         oracle=ORACLES["conv_backward"]),),
        gpu_values=_conv_cuda_values,
        hint="x_pad.unfold(2, HH, stride).unfold(3, WW, stride) gives every window at once"), THRESHOLDS)
