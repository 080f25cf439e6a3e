"""The timing and counting plan of ex11 (measured by :mod:`grader.checks.performance`).

Every builder is keyed by a size dict (``POOL_CPU``, ``POOL_GPU``, the counted sizes), so that
the plan ports to another timing engine by changing the builders' signatures only.
"""
from __future__ import annotations

import numpy as np

from grader.checks.cuda import _cuda_compare, cuda_grads, torch_oracle
from grader.checks.performance import Counted, Inputs, Plan, Timed, keep_cache, normal, \
    with_thresholds
from grader.checks.compare import expect_tuple
from grader.exercises.ex11_pool.configs import distinct_values

FWD, BWD = "maxpool_forward", "maxpool_backward"
#: CPU timing shapes: many small images (a Python loop over the batch dominates) and a few large
#: ones (a loop over output positions dominates). 2x2 windows, stride 2.
POOL_CPU = {
    "batch": {"N": 256, "C": 4, "H": 8, "P": 2, "S": 2},
    "positions": {"N": 2, "C": 4, "H": 64, "P": 2, "S": 2},
}
#: GPU: 3x3 windows with stride 2 (overlapping, ResNet's stem) on 128 x 128 x 112 x 112 float32
#: (822 MB): cuDNN's max_pool2d forward + backward moves a few GB, about a millisecond.
POOL_GPU = {"N": 128, "C": 128, "H": 112, "P": 3, "S": 2}


def _out_hw(s) -> int:
    return 1 + (s["H"] - s["P"]) // s["S"]


def _arrays(ctx, s, dtype):
    x = normal(ctx, (s["N"], s["C"], s["H"], s["H"]), dtype)
    dout = normal(ctx, (s["N"], s["C"], _out_hw(s), _out_hw(s)), dtype)
    return x, dout, {"pool_height": s["P"], "pool_width": s["P"], "stride": s["S"]}


def _fwd(shape):
    def build(ctx, dtype):
        x, _, kw = _arrays(ctx, POOL_CPU[shape], dtype)
        return Inputs([x], kw)
    return build


def _bwd(shape):
    def build(ctx, dtype):
        x, dout, kw = _arrays(ctx, POOL_CPU[shape], dtype)
        cache = keep_cache(ctx, FWD, (x,), kw, 1)
        return Inputs([dout, cache], {}, [x, dout], kw)
    return build


def _pair(ctx, dtype):
    x, dout, kw = _arrays(ctx, POOL_GPU, dtype)
    return Inputs([x], kw, [x, dout], kw, then={"fn": BWD, "args": [dout], "cache_index": 1})


def _count(fn):
    def build(ctx, s):
        x, dout, kw = _arrays(ctx, {"N": s["N"], "C": 2, "H": s["H"], "P": 2, "S": 2}, "float64")
        if fn == FWD:
            return (x,), kw
        return (dout, keep_cache(ctx, FWD, (x,), kw, 1)), {}
    return build


def _cuda_values(ctx) -> None:
    """float32 CUDA inputs (distinct values, 3x3 windows, stride 2): out and dx on the device
    against float64 max_pool2d and its autograd on the CPU."""
    import torch.nn.functional as F
    x = distinct_values(ctx.rng, (2, 3, 9, 9)).astype(np.float32)
    dout = ctx.rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    kw = {"pool_height": 3, "pool_width": 3, "stride": 2}
    value = expect_tuple(ctx.map(FWD, [((x,), kw)], keep=(1,))[0], 2, fn=FWD,
                         names="(out, cache)")
    outs, grads = cuda_grads(lambda t: F.max_pool2d(t, (3, 3), stride=2), [x.astype(np.float64)],
                             [dout])
    _cuda_compare(ctx, FWD, value[:1], outs, ["out"])
    _cuda_compare(ctx, BWD, [ctx.call(BWD, dout, value[1])], grads, ["dx"])


def _pool_ref(x, pool_height=2, pool_width=2, stride=2):
    import torch.nn.functional as F
    return F.max_pool2d(x, (pool_height, pool_width), stride=stride)


ORACLES = {FWD: torch_oracle(FWD, _pool_ref, 1, ["out"], items=(0,)),
           BWD: torch_oracle(BWD, _pool_ref, 1, ["dx"], backward=True)}
REFS = {FWD: "max_pool2d", BWD: "max_pool2d_grad"}

#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"maxpool_forward[batch]": 27, "maxpool_forward[positions]": 34,
              "maxpool_backward[batch]": 210, "maxpool_backward[positions]": 250}

PLAN = with_thresholds(Plan(
    timed=tuple(
        Timed(fn, REFS[fn], build(shape), 0.0, cause, f"{fn} on {what}", f"{fn}[{shape}]", (shape,),
              ORACLES[fn])
        for fn, build in ((FWD, _fwd), (BWD, _bwd))
        for shape, what, cause in (
            ("batch", "many small images (N=256, C=4, 8x8)",
             "a Python loop over the batch or the channels; take every window of every image "
             "at once with x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)"),
            ("positions", "a few large images (N=2, C=4, 64x64)",
             "a Python loop over output positions; gather all windows with unfold (a loop over "
             "the pool_height x pool_width offsets is fine)"))),
    counted=tuple(Counted(fn, _count(fn), {"N": 2, "H": 6},
                          (("N", 6, "the batch size N"), ("H", 14, "the image size H = W")),
                          {"N": "the batch", "H": "output positions"})
                  for fn in (FWD, BWD)),
    gpu_timed=(Timed(FWD, "max_pool2d_pair", _pair, 20.0,
                     "a Python loop, or host-device copies (.cpu(), .numpy(), .item())",
                     "maxpool_forward + maxpool_backward", oracle=ORACLES[BWD]),),
    gpu_values=_cuda_values,
    hint="x.unfold(2, pool_height, stride).unfold(3, pool_width, stride) gives every window at "
         "once; scatter_add_ routes every gradient at once"), THRESHOLDS)
