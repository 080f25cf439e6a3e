"""Measuring one timing attempt: student blocks in the student's process, verified from outside,
reference blocks in the grader's own process, fresh inputs on every call, outputs rechecked.

One *unit* is a student function at one shape (:class:`grader.checks.performance.Timed`). An
attempt (:func:`measure`) runs, per unit, a warm-up and then ABBA rounds (student, reference,
reference, student; then the mirror image; a clear pass stops after the first):

* a **student block** gets a pool of inputs none of its calls has seen (``Timed.build`` once per
  call, at most :data:`POOL_BYTES` per block), loaded by one request (``perf_load``) and timed
  by the next (``perf_block``: the thread CPU seconds of the loop over the pool, measured by the
  worker with the clock it captured before the student's module loaded). The grader reads the
  kernel's CPU clock of the student process around that request (``StudentProcess.perf``) and
  rejects a claim the kernel contradicts (:func:`verify_block`); it then picks, by
  ``random.SystemRandom`` after the block ended, :data:`RECHECKS` of the block's calls and checks
  their outputs (``perf_outputs``) with ``Timed.oracle`` at the value checks' tolerances;
* a **reference block** runs the unit's library reference (:mod:`grader.checks.references`) on
  the inputs of the last student block, in *this* process, single-threaded
  (``torch.set_num_threads(1)``, BLAS limited to one thread by threadpoolctl where installed),
  with the same ``time.thread_time`` clock. Nothing in the student's process can change it.
"""
from __future__ import annotations

import contextlib
import gc
import math
import random
import statistics
import time
from dataclasses import dataclass

import numpy as np

from grader.checks import references
from grader.runner import codec
from grader.spec import Fail

#: Target CPU duration of one timed block (seconds): a reference block, and a student block
#: whose warm-up looked like a clear pass; any other student block lasts at least
#: STUDENT_BLOCK_S unless POOL_CALLS ends it first. The outside view's allowances are per block
#: (about 3 ms with the load's), so a looped function's block must be long enough that they
#: cannot hide the larger part of it (2 ms blocks let a forged claim hide up to 100% of ex01's
#: and ex02's looped blocks).
BLOCK_S = 0.002
STUDENT_BLOCK_S = 0.012
#: ABBA rounds per attempt (each round: two student blocks and two reference blocks).
ROUNDS = 2
#: Student seconds per unit and attempt beyond which fewer rounds are run.
ATTEMPT_STUDENT_BUDGET_S = 0.4
#: Largest size of the inputs of one student block (bytes), and most calls per block: every call
#: has its own inputs, built here and sent over, so a block of fast calls is kept short (the
#: clock has ns resolution; the per-block allowances of the outside view are unchanged).
POOL_BYTES = 64 * 2**20
POOL_CALLS = 32
#: Calls of each student block whose outputs are checked against the oracle.
RECHECKS = 2
#: Outside view (CPU): kernel CPU <= CPU_FACTOR * claimed + CPU_SLACK_S per block, claimed <=
#: kernel CPU + CLAIM_SLACK_S; over an attempt, sum of kernel CPU <= SUM_FACTOR * sum claimed +
#: BLOCK_OVERHEAD_S per block. CUDA: claimed wall <= grader's wall + WALL_SLACK_S.
CPU_FACTOR = 1.2
CPU_SLACK_S = 0.002
CLAIM_SLACK_S = 0.0002
WALL_SLACK_S = 0.002
SUM_FACTOR = 1.1
BLOCK_OVERHEAD_S = 0.0009
#: CPU seconds a block's load may take (:func:`load_allowance`): fixed, per MiB of inputs, per
#: call, summed over an attempt. Every solution's loads, 3 repeats of all 13 exercises
#: (2026-12-03): at most 0.67 of the allowance for one block (ex09's 2 MB blocks).
LOAD_S = 0.002
LOAD_S_PER_MB = 0.004
LOAD_S_PER_CALL = 0.0001
#: Student blocks that block WAIT_PER_CALL times per call (at least WAIT_MIN) and sleep
#: SLEEP_FRACTION of their wall time (at least SLEEP_PER_CALL_S per call): work done elsewhere.
WAIT_PER_CALL = 0.5
WAIT_MIN = 3
SLEEP_FRACTION = 0.4
SLEEP_PER_CALL_S = 0.001


class Untrusted(Fail):
    """A timing the outside view contradicts: the attempt is void and measured again; the check
    fails with this message only when every attempt was contradicted."""


@dataclass
class Measurement:
    """One attempt at one unit: per-call seconds of each block, and the ratio of medians."""

    fn: str
    student: list
    reference: list
    sample: object = None  #: the inputs of one timed call (the GPU floor sizes them)

    @property
    def ratio(self) -> float:
        """median(student per call) / median(reference per call)."""
        return statistics.median(self.student) / max(statistics.median(self.reference), 1e-12)


def request(ctx, req: dict, fn: str, observe: bool = True, since=None):
    """Send ``req`` to the student process (observed from outside unless ``observe`` is False;
    ``since``: charge from the end of that earlier sample: see ``StudentProcess.perf``); raise
    what a refusal means."""
    from grader.engine import Forbidden, StudentRaised
    sample = ctx.process.perf(req, observe=observe, since=since)
    answer = sample.answer
    if answer.get("forbidden"):
        names = [str(v) for v in answer["forbidden"]]
        ctx.violations.extend(names)
        raise Forbidden(", ".join(names))
    if answer.get("ok") is True:
        return sample
    err = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    if not err:
        raise Fail(f"the student process answered a timing request for {fn} with malformed data")
    raise StudentRaised(str(err.get("message", fn)) if err.get("type") == "MissingFunction"
                        else fn, err)


def contradiction(fn: str, claimed: float, cpu: float, wall: float, what: str = "CPU",
                  blocks: int = 1) -> Untrusted:
    """The message for a claim the outside view contradicts (seconds: claimed by the process,
    CPU charged by the kernel, wall seen by the grader, over ``blocks`` blocks)."""
    block = "a block" if blocks == 1 else f"{blocks} blocks"
    return Untrusted(
        f"the timing of {fn} cannot be trusted: your process reported {claimed * 1e3:.2f} ms of "
        f"{what} time for {block} of your function, while the operating system saw "
        f"{cpu * 1e3:.2f} ms of CPU time and {wall * 1e3:.2f} ms of wall time. Something in your "
        "module changes the timers (time.thread_time, time.perf_counter, timeit, torch.cuda "
        "events) or has the work done outside this process (multiprocessing, subprocess); "
        "remove it")


def verify_block(fn: str, device: str, claimed: float, cpu: float, wall: float) -> None:
    """The outside view of one student block against what the process claimed.

    Args:
        claimed: seconds the process reported (CPU seconds; CUDA: synchronised wall seconds).
        cpu: the kernel's CPU seconds of the process during the request (nan: unknown).
        wall: the grader's wall seconds around the request.

    Raises:
        Untrusted: the claim is impossible (negative, more than the grader saw pass, far less
            CPU than the kernel charged).
    """
    if not (claimed >= 0 and math.isfinite(claimed)):
        raise contradiction(fn, claimed, cpu, wall)
    if device == "cuda":
        if claimed > wall + WALL_SLACK_S:
            raise contradiction(fn, claimed, cpu, wall, "wall")
        return
    if math.isfinite(cpu) and (claimed > cpu + CLAIM_SLACK_S or
                               cpu > claimed * CPU_FACTOR + CPU_SLACK_S):
        raise contradiction(fn, claimed, cpu, wall)


def number(estimate: float, block_s: float = BLOCK_S) -> int:
    """Calls per block so that one block lasts about ``block_s`` seconds."""
    if not estimate > 0 or not math.isfinite(estimate):
        return 1
    return int(min(100000, max(1, math.ceil(block_s / estimate))))


def nbytes(value) -> int:
    """Bytes of the arrays in ``value`` (nested lists, tuples, dicts)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    return 0


def to_local(value, backend: str, device: str = "cpu"):
    """Arguments as the reference expects them in the grader's process: ``codec.Rng`` -> a
    Generator, float arrays -> torch tensors for torch exercises (copies; on ``device``)."""
    if isinstance(value, codec.Rng):
        return np.random.default_rng(value.seed)
    if isinstance(value, np.ndarray) and backend == "torch" and value.dtype.kind == "f":
        import torch
        return torch.from_numpy(value.copy()).to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(to_local(v, backend, device) for v in value)
    if isinstance(value, dict):
        return {k: to_local(v, backend, device) for k, v in value.items()}
    return value


@contextlib.contextmanager
def single_thread(backend: str):
    """One thread for torch and BLAS in this process while references are timed, and no garbage
    collection (as in the student's process, where the collector runs between requests only)."""
    threads = None
    collecting = gc.isenabled()
    gc.disable()
    if backend == "torch":
        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # the CLI sets OMP/MKL/OPENBLAS_NUM_THREADS=1 before numpy loads
            limits = contextlib.nullcontext()
        else:
            limits = threadpool_limits(1)
        with limits:
            yield
    finally:
        if collecting:
            gc.enable()
        if threads is not None:
            import torch
            torch.set_num_threads(threads)


def build_reference(name: str, inputs, backend: str, device: str = "cpu") -> list:
    """The steps of reference ``name`` on one call's inputs (see :class:`Inputs`)."""
    args = to_local(inputs.args if inputs.ref_args is None else inputs.ref_args, backend, device)
    kwargs = to_local(inputs.kwargs if inputs.ref_kwargs is None else inputs.ref_kwargs, backend,
                      device)
    return references.REFERENCES[name](*args, **kwargs)


def time_reference(pool: list, calls: int, device: str = "cpu") -> float:
    """Per-call seconds of the references in ``pool`` (lists of steps), cycled for ``calls``
    calls: thread CPU seconds on the CPU; on CUDA synchronised wall seconds."""
    reps = max(1, round(calls / len(pool)))
    if device == "cuda":
        return _time_reference_cuda(pool, reps)
    t0 = time.thread_time()
    for _ in range(reps):
        for steps in pool:
            references.run(steps)
    return (time.thread_time() - t0) / (reps * len(pool))


_FLUSH: list = []


def _time_reference_cuda(pool: list, reps: int) -> float:
    """As the worker times the student's calls on CUDA: per call an L2 flush, CUDA events around
    the call and a device-wide synchronize before the end event; mean seconds per call."""
    import torch
    from grader.runner.timing import flush_bytes
    if not _FLUSH:
        l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0)
        _FLUSH.append(torch.empty(flush_bytes(l2), dtype=torch.uint8, device="cuda"))
    total = 0.0
    for _ in range(reps):
        for steps in pool:
            _FLUSH[0].fill_(1)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            references.run(steps)
            torch.cuda.synchronize()
            end.record()
            end.synchronize()
            total += start.elapsed_time(end) / 1e3
    return total / (reps * len(pool))


def _recheck(ctx, timed, pool: list, device: str) -> None:
    """Ask for the outputs of RECHECKS calls of the block just timed (chosen now, by the OS's
    random source) and check them with the unit's oracle."""
    if timed.oracle is None:
        return
    picks = sorted(random.SystemRandom().sample(range(len(pool)), min(RECHECKS, len(pool))))
    values = request(ctx, {"op": "perf_outputs", "indices": picks}, timed.fn,
                     observe=False).answer.get("values")
    if not isinstance(values, list) or len(values) != len(picks):
        raise Fail(f"the student process did not return the outputs of the timed calls of "
                   f"{timed.fn}")
    for i, value in zip(picks, values):
        try:
            timed.oracle(ctx, pool[i], value)
        except Fail as exc:
            raise Fail(
                f"{timed.fn} returned a wrong result in a timed call (call {i + 1} of a block "
                f"of {len(pool)}, each on inputs not seen before): {exc} Speed is credited only "
                "for correct results; a function that answers from earlier calls, or behaves "
                "differently while it is timed, fails here") from None


def load_allowance(nbytes: int, calls: int) -> float:
    """CPU seconds an honest student process may spend loading a block's inputs (decoding the
    message, building the calls): :data:`LOAD_S` + :data:`LOAD_S_PER_MB` per MiB +
    :data:`LOAD_S_PER_CALL` per call."""
    return LOAD_S + LOAD_S_PER_MB * nbytes / 2**20 + LOAD_S_PER_CALL * calls


def _student_block(ctx, timed, dtype: str, k: int, device: str, recheck: bool = True):
    """Load k fresh inputs, time one call on each, recheck (unless ``recheck`` is False: the
    warm-up, whose time is not credited); (claimed, block PerfSample, pool, load PerfSample,
    load allowance in seconds). The block's kernel CPU counts from the end of the load, so
    nothing the process runs between the two escapes it."""
    pool = [timed.build(ctx, dtype) for _ in range(k)]
    wires = [inp.wire(timed.fn) for inp in pool]
    load = request(ctx, {"op": "perf_load", "calls": wires, "device": device}, timed.fn)
    sample = request(ctx, {"op": "perf_block"}, timed.fn, since=load)
    claimed = float(sample.answer.get("seconds", float("nan")))
    ctx.calls += k
    verify_block(timed.fn, device, claimed, sample.cpu_s, sample.wall_s)
    if recheck:
        _recheck(ctx, timed, pool, device)
    return claimed, sample, pool, load, load_allowance(nbytes(wires), k)


def measure(ctx, units: list, device: str = "cpu", clear_below=None) -> list[Measurement]:
    """Time every unit once (one attempt); see the module docstring.

    Args:
        ctx: the check's :class:`grader.engine.Context`.
        units: :class:`grader.checks.performance.Timed` objects.
        device: ``"cpu"`` or ``"cuda"``.
        clear_below: optional ``clear_below(unit) -> ratio``: a unit whose first ABBA round
            measures at most that ratio is not given its second round (a clear pass; the
            ratios near the threshold, and calibration, always get every round).

    Returns:
        One :class:`Measurement` per unit (per-call seconds).

    Raises:
        Untrusted: the outside view contradicts a claim. Fail: a timed output is wrong.
        StudentRaised / Forbidden / StudentCrash: from the student's code.
    """
    dtype = "float32" if device == "cuda" else "float64"
    backend = ctx.exercise.backend
    results = []
    with single_thread(backend):
        for timed in units:
            # warm-up: two calls on fresh inputs, one reference call
            claimed, sample, pool, _, _ = _student_block(ctx, timed, dtype, 2, device,
                                                         recheck=False)
            est_s = max(claimed, sample.cpu_s / CPU_FACTOR - CPU_SLACK_S
                        if math.isfinite(sample.cpu_s) else 0.0) / 2
            refs = [build_reference(timed.ref, inp, backend, device) for inp in pool]
            est_r = time_reference(refs, 1, device)
            # A warm-up that looks like a clear pass gets short blocks (a fast function's cost),
            # any other long ones. Faking a fast warm-up does not shorten a looped block: k then
            # grows as the faked estimate shrinks, and a looped ratio of at least 3.2 T over a
            # warm-up below T/2 gives blocks of at least 6.4 BLOCK_S.
            clear = clear_below is not None and est_s <= clear_below(timed) * est_r
            k = number(est_s, BLOCK_S if clear else STUDENT_BLOCK_S)
            k = max(1, min(k, POOL_CALLS, POOL_BYTES // max(1, nbytes(pool[0].args))))
            n_ref = number(est_r)
            rounds = max(1, min(ROUNDS, int(ATTEMPT_STUDENT_BUDGET_S / max(2 * k * est_s, 1e-9))))
            per_call = {"student": [], "reference": []}
            claimed_sum = wall_sum = cpu_sum = sleep_s = load_sum = allowed_sum = 0.0
            waits_s = calls_s = 0
            known = True
            for r in range(rounds):
                if r and clear_below is not None and statistics.median(per_call["student"]) <= \
                        clear_below(timed) * statistics.median(per_call["reference"]):
                    break
                order = ("student", "reference", "reference", "student") if r % 2 == 0 else \
                    ("reference", "student", "student", "reference")
                for side in order:
                    if side == "reference":
                        per_call["reference"].append(time_reference(refs, n_ref, device))
                        continue
                    claimed, sample, pool, load, allowed = _student_block(ctx, timed, dtype, k,
                                                                          device)
                    load_sum += load.cpu_s
                    allowed_sum += allowed
                    refs = [build_reference(timed.ref, inp, backend, device) for inp in pool]
                    per_call["student"].append(claimed / k)
                    claimed_sum += claimed
                    wall_sum += sample.wall_s
                    cpu_sum += sample.cpu_s
                    waits_s += max(sample.waits - 1, 0)
                    calls_s += k
                    sleep_s += sample.sleep_s
                    known = known and sample.waits >= 0 and math.isfinite(sample.sleep_s)
            blocks = len(per_call["student"])
            if device == "cpu" and math.isfinite(cpu_sum) and \
                    cpu_sum > claimed_sum * SUM_FACTOR + BLOCK_OVERHEAD_S * blocks:
                raise contradiction(timed.fn, claimed_sum, cpu_sum, wall_sum, blocks=blocks)
            # Loading a block's inputs runs no student code: CPU time spent then beyond what
            # decoding costs is the block's work done early (its results kept for the block).
            if device == "cpu" and math.isfinite(load_sum) and load_sum > allowed_sum:
                raise Untrusted(
                    f"the timing of {timed.fn} cannot be trusted: while the inputs of {blocks} "
                    f"timed blocks were loaded, before any call was timed, your process used "
                    f"{load_sum * 1e3:.2f} ms of CPU time, where loading them takes at most "
                    f"{allowed_sum * 1e3:.2f} ms: something in your module does the timed work "
                    "ahead of the timing (it changes the grader's worker); remove it")
            # Work handed to another process costs this one no CPU time, but its main thread
            # blocks waiting for the result, at least once per call, and sleeps meanwhile.
            # (one wait per block beyond the request's own is what an honest torch block shows)
            if device == "cpu" and known and \
                    waits_s - blocks >= max(WAIT_MIN, WAIT_PER_CALL * calls_s) \
                    and sleep_s > SLEEP_FRACTION * wall_sum and sleep_s > SLEEP_PER_CALL_S * calls_s:
                raise Untrusted(
                    f"the timing of {timed.fn} cannot be trusted: in {calls_s} calls your "
                    f"function blocked {waits_s} times and slept {sleep_s * 1e3:.0f} of "
                    f"{wall_sum * 1e3:.0f} ms, waiting for something outside its process (CPU "
                    "time spent elsewhere does not count here). Do not use multiprocessing, "
                    "subprocess, threads, time.sleep or files in a graded function")
            results.append(Measurement(timed.fn, per_call["student"], per_call["reference"],
                                       pool[0]))
    return results
