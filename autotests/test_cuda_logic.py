"""The CUDA timing hardening, tested on the CPU with fakes (no GPU in the sessions that built it;
docs/performance.md says what has run on real hardware): the L2 flush before every timed call,
per-call events from the worker's captured event class, the physical floor and the speed-up
flag."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks import cuda
from grader.checks.measure import Measurement, Untrusted
from grader.checks.performance import Inputs, Timed
from grader.runner import timing


def test_flush_buffer_is_twice_the_l2_cache():
    assert timing.flush_bytes(50 * 2**20) == 100 * 2**20        # H100: 50 MiB of L2
    assert timing.flush_bytes(2**20) == 8 * 2**20                # small caches: 8 MiB at least
    assert timing.flush_bytes(0) == 256 * 2**20                  # unknown: generous


def test_peaks_match_device_names_and_default_high():
    assert cuda.peaks("NVIDIA H100 80GB HBM3") == cuda.GPU_PEAKS["H100"]
    assert cuda.peaks("NVIDIA H200") == cuda.GPU_PEAKS["H200"]
    assert cuda.peaks("Some Future GPU") == cuda.DEFAULT_PEAKS
    assert all(cuda.DEFAULT_PEAKS[i] >= max(v[i] for v in cuda.GPU_PEAKS.values())
               for i in range(2))


def test_physical_floor_is_the_larger_of_bandwidth_and_compute_time():
    bw, peak = cuda.GPU_PEAKS["A100"]
    assert cuda.physical_floor_s(bw, 0, "A100") == pytest.approx(1.0)
    assert cuda.physical_floor_s(1.0, 3 * peak, "A100") == pytest.approx(3.0)


def _unit(flops=None):
    return Timed("conv_forward", "conv_pair", lambda ctx, d: None, 20.0, "a loop", flops=flops)


def _inputs(mb):
    n = int(mb * 1e6 / 4)
    return Inputs([np.zeros(n, np.float32)], {}, [np.zeros(n, np.float32)] * 2)


def test_a_time_below_the_physical_floor_is_rejected():
    # 3 MB read + 1 MB written at 2.04 TB/s: 2 us at least; 1 us claimed
    m = Measurement("conv_forward", [1e-6] * 4, [1e-6] * 4)
    with pytest.raises(Untrusted, match="below what NVIDIA A100 can do"):
        cuda.judge_gpu_time(_unit(), m, "NVIDIA A100", _inputs(1))
    cuda.judge_gpu_time(_unit(), Measurement("f", [3e-6] * 4, [3e-6] * 4), "NVIDIA A100",
                        _inputs(1))
    # the FLOPs bound: 1.56 TFLOP at 156 TFLOP/s is 10 ms
    with pytest.raises(Untrusted, match="GFLOP"):
        cuda.judge_gpu_time(_unit(lambda inp: 1.56e12), Measurement("f", [5e-3] * 4, [5e-3] * 4),
                            "NVIDIA A100", _inputs(1))


def test_a_speedup_far_beyond_the_vendor_kernel_is_rejected():
    m = Measurement("conv_forward", [1e-3] * 4, [6e-3] * 4)     # 6x faster than cuDNN
    with pytest.raises(Untrusted, match="faster than torch's own kernels"):
        cuda.judge_gpu_time(_unit(), m, "NVIDIA H100", _inputs(1))
    cuda.judge_gpu_time(_unit(), Measurement("f", [2e-3] * 4, [6e-3] * 4), "NVIDIA H100",
                        _inputs(1))


class _FakeEvent:
    log: list = []
    clock = 0.0

    def __init__(self, enable_timing=False):
        assert enable_timing
        self.t = None

    def record(self):
        _FakeEvent.clock += 1.0
        self.t = _FakeEvent.clock
        _FakeEvent.log.append("record")

    def elapsed_time(self, end):
        return (end.t - self.t) * 1.5   # ms


class _FakeFlush:
    def fill_(self, value):
        _FakeEvent.log.append("flush")


def test_the_worker_flushes_l2_and_times_every_call_with_its_own_events(monkeypatch):
    """Each timed call: flush, start event, the call, a device-wide synchronize, end event;
    the seconds are the sum of the events' times (not a timer the student could replace)."""
    synced = []
    monkeypatch.setattr(timing, "_CUDA", {"event": _FakeEvent, "sync": lambda: synced.append(1),
                                          "flush": _FakeFlush()})
    _FakeEvent.log = []
    calls = []
    session = SimpleNamespace(module=SimpleNamespace(f=lambda x: calls.append(x) or x),
                              to_student=lambda v: v, to_wire=lambda v: v, student_file="x.py")
    assert timing.handle({"op": "perf_load", "device": "cuda",
                          "calls": [{"fn": "f", "args": [i]} for i in range(3)]},
                         session, contextlib.nullcontext, [], None) == {"ok": True}
    answer = timing.handle({"op": "perf_block"}, session, contextlib.nullcontext, [], None)
    assert calls == [0, 1, 2] and synced == [1] * 4     # after each call, and at the end
    assert _FakeEvent.log == ["flush", "record", "record"] * 3
    assert answer["seconds"] == pytest.approx(3 * 1.5e-3)
    outs = timing.handle({"op": "perf_outputs", "indices": [2, 0]}, session,
                         contextlib.nullcontext, [], None)
    assert outs["values"] == [2, 0]


def test_gpu_pair_outputs_are_rechecked_at_float32_tolerances():
    """The pair units' oracle (the backward's, on the pair's inputs) accepts float32 gradients
    within TF32-scale tolerances and rejects a wrong one (here on the CPU: ctx.device "cpu")."""
    torch = pytest.importorskip("torch")
    from grader.exercises.ex06_conv.plan import PLAN
    from grader.runner.codec import Tensor
    from grader.spec import Fail
    unit = PLAN.gpu_timed[0]
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 6, 6)).astype(np.float32), rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b, dout = rng.normal(size=4).astype(np.float32), rng.normal(size=(2, 4, 6, 6)).astype(np.float32)
    inputs = Inputs([x, w, b], {"stride": 1, "pad": 1}, [x, w, b, dout], {"stride": 1, "pad": 1})
    leaves = [torch.from_numpy(a).requires_grad_(True) for a in (x, w, b)]
    out = torch.nn.functional.conv2d(*leaves, stride=1, padding=1)
    grads = torch.autograd.grad((out * torch.from_numpy(dout)).sum(), leaves)
    value = tuple(Tensor(g.numpy(), "cpu") for g in grads)
    ctx = SimpleNamespace(device="cpu")
    unit.oracle(ctx, inputs, value)
    wrong = (value[0], Tensor(value[1].array * 1.01, "cpu"), value[2])
    with pytest.raises(Fail, match="dw"):
        unit.oracle(ctx, inputs, wrong)
