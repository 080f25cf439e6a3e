"""CUDA checks: float32 values on the device and forward+backward timing against torch's kernels.

``cuda_values`` (kind ``value``) and ``cuda_performance`` (kind ``performance``) of the torch
exercises; both ``skip`` without CUDA. The timing follows :mod:`grader.checks.measure` (fresh
inputs per call, outputs rechecked, the reference in the grader's process) with the hardening
KernelBench and GPU MODE's reference-kernels adopted after real exploits: the worker times each
call with CUDA events and ``torch.cuda.synchronize`` it captured before the student's module
loaded (never a timer object the student can replace) and flushes the L2 cache before every
call (:func:`flush_bytes`); a time below the physical floor of the device
(:func:`physical_floor_s`: bytes that must move over the peak bandwidth, FLOPs over the peak
rate) and a speed-up beyond :data:`MAX_SPEEDUP` times the vendor kernel are rejected as
"cannot be trusted" (:func:`judge_gpu_time`). Only the logic has run on a CPU with fakes
(autotests/test_cuda_logic.py); see docs/performance.md for what has run on real hardware.
"""
from __future__ import annotations

import statistics

import numpy as np

from grader.checks.compare import TOLERANCES, assert_close, expect_array, expect_tuple
from grader.checks.measure import Measurement, Untrusted, measure, nbytes
from grader.checks.performance import (ATTEMPTS, Plan, _perf_config, _ratio_text, _record,
                                       _threshold)
from grader.runner.timing import flush_bytes  # noqa: F401 - the worker's L2 flush size
from grader.spec import Fail, Skip

#: (peak memory bandwidth bytes/s, peak dense FLOP/s at TF32 where the chip has it, else FP32),
#: vendor data sheets; matched against torch.cuda.get_device_name() by substring.
GPU_PEAKS = {
    "H200": (4.8e12, 495e12), "H100": (3.35e12, 495e12), "A100": (2.04e12, 156e12),
    "L40S": (0.864e12, 183e12), "L4": (0.3e12, 60e12), "A10": (0.6e12, 62.5e12),
    "RTX 4090": (1.01e12, 82.6e12), "V100": (0.9e12, 15.7e12), "T4": (0.32e12, 8.1e12),
}
#: An unknown GPU: above any listed, so its floor only rejects the impossible.
DEFAULT_PEAKS = (8e12, 1000e12)
#: A student faster than this many times torch's own kernels is not believed.
MAX_SPEEDUP = 5.0


def peaks(name: str) -> tuple[float, float]:
    """(bytes/s, FLOP/s) of the device called ``name`` (DEFAULT_PEAKS when unknown)."""
    for key, value in GPU_PEAKS.items():
        if key.lower() in (name or "").lower():
            return value
    return DEFAULT_PEAKS


def physical_floor_s(bytes_moved: float, flops: float, name: str) -> float:
    """The least time a call can take on device ``name``: max(bytes / bandwidth, FLOPs / peak)."""
    bw, peak = peaks(name)
    return max(bytes_moved / bw, flops / peak)


def gpu_name() -> str:
    """torch.cuda.get_device_name() of the current device (the GPU_PEAKS lookup key)."""
    import torch
    return torch.cuda.get_device_name()


def judge_gpu_time(t, m: Measurement, name: str, inputs) -> None:
    """Reject a GPU measurement that cannot be real.

    The bytes that must move are a lower bound of forward+backward: every input (upstream
    gradients included) is read once and a gradient of each forward input is written; the FLOPs
    are ``t.flops(inputs)`` where the plan gives them (the forward pass's, a lower bound).

    Raises:
        Untrusted: the student's median per call is below the physical floor, or more than
            MAX_SPEEDUP times faster than torch's own kernels.
    """
    student = statistics.median(m.student)
    moved = nbytes(inputs.ref_args if inputs.ref_args is not None else inputs.args) + \
        nbytes(inputs.args)
    flops = float(t.flops(inputs)) if getattr(t, "flops", None) else 0.0
    floor = physical_floor_s(moved, flops, name)
    if student < floor:
        raise Untrusted(
            f"the timing of {t.fn} on the GPU cannot be trusted: {student * 1e6:.1f} us per call "
            f"is below what {name or 'this GPU'} can do at all ({floor * 1e6:.1f} us to move "
            f"{moved / 1e6:.1f} MB{f' and do {flops / 1e9:.1f} GFLOP' if flops else ''}). "
            "Something in your module changes the timing (CUDA events, streams, caching of "
            "results); remove it")
    if m.ratio < 1.0 / MAX_SPEEDUP:
        raise Untrusted(
            f"the timing of {t.fn} on the GPU cannot be trusted: {1 / m.ratio:.1f} times faster "
            f"than torch's own kernels (at most {MAX_SPEEDUP:g}x is believed). Something in your "
            "module changes the timing or reuses results of earlier calls; remove it")


# -- checks ----------------------------------------------------------------------------------------
def _need_cuda(ctx) -> None:
    if ctx.device != "cuda":
        raise Skip("no CUDA device in use: this check runs with --device cuda (or --device auto "
                   "on a machine with a GPU)")


def run_cuda_values(ctx, plan: Plan) -> None:
    """The ``cuda_values`` check: the exercise's functions on float32 CUDA tensors."""
    _need_cuda(ctx)
    plan.gpu_values(ctx)


def run_cuda_timing(ctx, plan: Plan) -> None:
    """The ``cuda_performance`` check: forward+backward vs torch's kernels on the GPU."""
    _need_cuda(ctx)
    if not ctx.perf:
        raise Skip("performance checks are off (--no-perf)")
    budgets = _perf_config(ctx).get("gpu_budget_ms", {})
    pending = list(plan.gpu_timed)
    history: dict[str, list[float]] = {t.key: [] for t in pending}
    last: dict[str, Measurement] = {}
    untrusted: list[Untrusted] = []
    for _attempt in range(ATTEMPTS):
        try:
            measured = measure(ctx, pending, "cuda")
        except Untrusted as exc:  # void attempt, as on the CPU
            untrusted.append(exc)
            continue
        for t, m in zip(pending, measured):
            judge_gpu_time(t, m, gpu_name(), m.sample)
            history[t.key].append(m.ratio)
            last[t.key] = m

        def ok(t):
            m = last[t.key]
            budget = budgets.get(t.key, budgets.get(t.fn))
            within = budget is None or statistics.median(m.student) * 1e3 <= float(budget)
            return history[t.key][-1] <= _threshold(ctx, t, "gpu_thresholds") and within
        for t in pending:
            if ok(t):
                _record(ctx, t, last[t.key])
        pending = [t for t in pending if not ok(t)]
        if not pending:
            return
    if untrusted and not all(history[t.key] for t in pending):
        raise untrusted[-1]
    t = pending[0]
    m = last[t.key]
    budget = budgets.get(t.key, budgets.get(t.fn))
    med = statistics.median(m.student) * 1e3
    extra = f"; the course's budget is {float(budget):g} ms" if budget is not None else ""
    raise Fail(
        f"{t.title} on the GPU took {med:.3g} ms per call, "
        f"{min(history[t.key]):.1f} times torch's own kernels "
        f"({statistics.median(m.reference) * 1e3:.3g} ms); the limit is "
        f"{_threshold(ctx, t, 'gpu_thresholds'):g}x{extra} (measured "
        f"{len(history[t.key])} times: {_ratio_text(history[t.key])}). Usual cause: {t.cause}")


# -- CUDA correctness (float32 on the device, float64 oracles by torch autograd on the CPU) -----
def cuda_grads(fn, inputs, upstream, device: str = "cpu"):
    """Run ``fn(*inputs)`` in float64 with autograd on ``device`` (the CPU by default; the GPU
    rechecks timed outputs at sizes the CPU would take seconds for); outputs and input
    gradients (the vector-Jacobian products with ``upstream``), as numpy arrays."""
    import torch
    from grader.checks.references import vjp_loss as _vjp_loss

    def tensor(a):
        return torch.from_numpy(np.asarray(a, dtype=np.float64)).to(device)
    leaves = [tensor(a).requires_grad_(True) for a in inputs]
    with torch.enable_grad():
        outs = fn(*leaves)
        outs = outs if isinstance(outs, tuple) else (outs,)
        loss = _vjp_loss(outs, tuple(tensor(u) for u in upstream))
        grads = torch.autograd.grad(loss, leaves)
    return [o.detach().cpu().numpy() for o in outs], [g.cpu().numpy() for g in grads]


def _cuda_compare(ctx, fn, values, expected, names):
    """float32 outputs on the device against float64 oracles. TF32 matmuls/convolutions round
    each operand to 10 mantissa bits, so their error scales with the operands, not with each
    result: the absolute tolerance of compare.TOLERANCES["float32"] is scaled by the output's
    largest magnitude (at least 1)."""
    rtol, atol = TOLERANCES["float32"]
    for v, e, name in zip(values, expected, names):
        got = expect_array(v, fn=fn, what=name, shape=e.shape, dtype="float32", device="cuda")
        scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
        assert_close(got, e, fn=fn, what=name, on="float32 CUDA inputs", dtype="float32",
                     rtol=rtol, atol=atol * scale,
                     hint="compute on the input's device and dtype (no .cpu(), .double() or "
                          "torch.float64 constants)")


def cuda_pair(ctx, fwd, bwd, inputs, kwargs, upstream, n_out, oracle, out_names, grad_names):
    """``cuda_values`` of a forward/backward pair: float32 inputs to the student's ``fwd`` (the
    cache kept in its process), then ``bwd`` on float32 upstream gradients; outputs and gradients
    against ``oracle`` in float64 autograd on the CPU (:func:`_cuda_compare` tolerances)."""
    f32 = [np.asarray(a, dtype=np.float32) for a in inputs]
    up32 = [np.asarray(u, dtype=np.float32) for u in upstream]
    value = ctx.map(fwd, [(tuple(f32), dict(kwargs))], keep=(n_out,))[0]
    value = expect_tuple(value, n_out + 1, fn=fwd, names="(outputs..., cache)")
    outs, grads = cuda_grads(oracle, [a.astype(np.float64) for a in f32], up32)
    _cuda_compare(ctx, fwd, value[:n_out], outs, out_names)
    back = expect_tuple(ctx.call(bwd, *up32, value[n_out]), len(grad_names), fn=bwd,
                        names="(" + ", ".join(grad_names) + ")")
    _cuda_compare(ctx, bwd, back, grads, grad_names)




def torch_oracle(fn: str, oracle, n_in: int, names, *, backward: bool = False, items=None):
    """A ``Timed.oracle`` for a torch exercise: ``oracle(*tensors, **kwargs)`` in float64 on the
    CPU (torch functions), its outputs, or for a backward unit its autograd gradients for the
    upstream arrays that follow the ``n_in`` forward inputs in ``inputs.ref_args``.

    Args:
        fn: the student's function. names: the checked items' names. items: indices of the
            student's returned tuple to compare (None: a single returned array).
    """
    def check(ctx, inputs, value):
        import torch
        from grader.checks.performance import recheck
        arrays = list(inputs.ref_args if backward else inputs.args)
        kwargs = dict((inputs.ref_kwargs if backward else inputs.kwargs) or {})
        device = "cuda" if getattr(ctx, "device", "cpu") == "cuda" else "cpu"
        dtype = "float32" if np.asarray(arrays[0]).dtype == np.float32 else "float64"
        if backward:
            _, expected = cuda_grads(lambda *t: oracle(*t, **kwargs), arrays[:n_in],
                                     arrays[n_in:], device)
        else:
            with torch.no_grad():
                outs = oracle(*[torch.from_numpy(np.asarray(a, np.float64)).to(device)
                                for a in arrays], **kwargs)
            expected = [o.cpu().numpy() for o in (outs if isinstance(outs, tuple) else (outs,))]
        recheck(value, expected, fn=fn, names=names, items=items, device=device, dtype=dtype)
    return check
