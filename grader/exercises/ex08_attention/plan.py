"""The timing and counting plan of ex08 (measured by :mod:`grader.checks.performance`)."""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from grader.checks.cuda import cuda_pair, torch_oracle
from grader.checks.performance import Counted, Inputs, Plan, Timed, keep_cache, normal, \
    with_thresholds
from grader.runner import codec  # noqa: F401


# ex08 attention ---------------------------------------------------------------------------------
#: CPU timing shapes: many short sequences (a loop over the batch dominates) and few long ones
#: (a loop over positions dominates).
ATTN_CPU = {
    "batch": {"N": 128, "T": 8, "D": 16, "dk": 8},
    "positions": {"N": 2, "T": 96, "D": 16, "dk": 8},
}
ATTN_GPU = {"N": 32, "T": 1024, "D": 512, "dk": 64}


def _attn_arrays(ctx, s, dtype):
    N, T, D, dk = s["N"], s["T"], s["D"], s["dk"]
    W = [normal(ctx, (D, dk), dtype, 1 / math.sqrt(D)) for _ in range(3)]
    return normal(ctx, (N, T, D), dtype), W, normal(ctx, (N, T, dk), dtype)


def _attn_fwd(shape):
    def build(ctx, dtype):
        x, W, _ = _attn_arrays(ctx, ATTN_CPU[shape], dtype)
        return Inputs([x, *W], {"causal": True})
    return build


def _attn_bwd(shape):
    def build(ctx, dtype):
        x, W, dout = _attn_arrays(ctx, ATTN_CPU[shape], dtype)
        cache = keep_cache(ctx, "attention_forward", (x, *W), {"causal": True}, 1)
        return Inputs([dout, cache], {}, [x, *W, dout], {"causal": True})
    return build


def _attn_pair(ctx, dtype):
    x, W, dout = _attn_arrays(ctx, ATTN_GPU, dtype)
    return Inputs([x, *W], {"causal": True}, [x, *W, dout], {"causal": True},
                  then={"fn": "attention_backward", "args": [dout], "cache_index": 1})


def _attn_flops(inputs) -> float:
    """Forward FLOPs: three projections, and QK^T and AV over the causal half of the scores."""
    (N, T, D), dk = inputs.args[0].shape, inputs.args[1].shape[1]
    return 3 * 2.0 * N * T * D * dk + 2 * 2.0 * N * T * T * dk / 2


def _attn_count(fn):
    def build(ctx, s):
        x, W, dout = _attn_arrays(ctx, {"N": s["N"], "T": s["T"], "D": 4, "dk": 4}, "float64")
        if fn == "attention_forward":
            return (x, *W), {"causal": True}
        return (dout, keep_cache(ctx, "attention_forward", (x, *W), {"causal": True}, 1)), {}
    return build


def _attn_oracle(x, Wq, Wk, Wv):
    import torch
    Q, K, V = x @ Wq, x @ Wk, x @ Wv
    S = Q @ K.transpose(-2, -1) / math.sqrt(Wq.shape[1])
    T = x.shape[1]
    S = S.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(S, dim=-1) @ V


def _attn_cuda_values(ctx) -> None:
    x, W, dout = _attn_arrays(ctx, {"N": 2, "T": 5, "D": 6, "dk": 4}, "float64")
    cuda_pair(ctx, "attention_forward", "attention_backward", [x, *W], {"causal": True}, [dout],
               1, _attn_oracle, ["out"], ["dx", "dWq", "dWk", "dWv"])


def _attn_ref(x, Wq, Wk, Wv, causal=True):
    return _attn_oracle(x, Wq, Wk, Wv)  # every timed unit is causal


ORACLES = {"attention_forward": torch_oracle("attention_forward", _attn_ref, 4, ["out"],
                                             items=(0,)),
           "attention_backward": torch_oracle("attention_backward", _attn_ref, 4,
                                              ["dx", "dWq", "dWk", "dWv"], backward=True,
                                              items=(0, 1, 2, 3))}
REFS = {"attention_forward": "sdpa", "attention_backward": "sdpa_grad"}

#: CPU thresholds T (limits of median(student)/median(reference)) per timed unit, from
#: benchmarks/calibrate.py (docs/performance.md); a course may override them.
THRESHOLDS = {"attention_forward[batch]": 20, "attention_forward[positions]": 32,
              "attention_backward[batch]": 23, "attention_backward[positions]": 30}

PLAN = with_thresholds(Plan(
        timed=tuple(
            Timed(fn, REFS[fn], build(shape), 0.0, cause, f"{fn} on {what}", f"{fn}[{shape}]",
                  (shape,), ORACLES[fn])
            for fn, build in (("attention_forward", _attn_fwd), ("attention_backward", _attn_bwd))
            for shape, what, cause in (
                ("batch", "many short sequences (N=128, T=8)",
                 "a Python loop over the batch; use batched matrix products on (N, T, ...) "
                 "tensors (Q @ K.transpose(-2, -1))"),
                ("positions", "few long sequences (N=2, T=96)",
                 "a Python loop over positions; compute all scores at once (Q @ K.transpose(-2, "
                 "-1)) and mask them with torch.triu"))),
        counted=tuple(Counted(fn, _attn_count(fn), {"N": 2, "T": 3},
                              (("N", 6, "the batch size N"), ("T", 9, "the sequence length T")),
                              {"N": "the batch", "T": "positions"})
                      for fn in ("attention_forward", "attention_backward")),
        gpu_timed=(Timed("attention_forward", "sdpa_pair", _attn_pair, 15.0,
                         "a Python loop, or host-device copies (.cpu(), .numpy(), .item())",
                         "attention_forward + attention_backward", flops=_attn_flops,
                         oracle=ORACLES["attention_backward"]),),
        gpu_values=_attn_cuda_values,
        hint="batched matrix products over (N, T, ...) tensors and torch.triu for the causal mask"), THRESHOLDS)
