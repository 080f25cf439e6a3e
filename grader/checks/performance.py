"""Performance checks: is the student's code vectorised? Timing ratios and counted work.

Four checks per exercise (all built by :func:`checks_for`):

``performance`` (kind ``performance``)
    Times the student's function and a grader-owned vectorised reference
    (:mod:`grader.runner.references`: numpy forward formulas, torch's own kernels) in the *same*
    student process, single-threaded, warm-up first, in ABBA order (student, reference,
    reference, student; then BAAB ...), on fresh random inputs per attempt. The verdict is
    ``median(student) / median(reference) <= T``; a failing ratio is re-measured up to
    :data:`ATTEMPTS` times before the check fails. T per function comes from calibration
    (``benchmarks/calibrate.py``; numbers in ``docs/performance.md``) and can be overridden in the
    course configuration.

    The figures come from ``timeit`` inside the untrusted process, so every timed block is
    cross-checked from outside (:meth:`grader.runner.process.StudentProcess.perf`): the kernel's
    CPU clock of the student process and the grader's wall clock, read around the block. A block
    that burnt more CPU than it claims to have lasted, or that claims more time than passed, is a
    contradiction (the module patched ``time.perf_counter``/``timeit``, or ran work in other
    threads): it voids that attempt, and a check whose every attempt is contradicted fails. A passing ratio is also checked against the reference timed in the
    grader's own process, so a module that slows the reference down in its process is caught.

``op_count`` (kind ``performance``)
    Noise-free companion: runs each function once at a base problem size and once with the batch
    (or spatial/sequence/feature) size grown, counting the aten operators dispatched (torch
    exercises, a ``TorchDispatchMode``) and the Python line events in the student's own file
    (``sys.settrace``). Work that grows with the batch size means a Python loop over the batch;
    the message names the line executed most often. Same verdict on every machine.

``cuda_values`` (kind ``value``) and ``cuda_performance`` (kind ``performance``), torch exercises
    float32 inputs on the GPU: outputs on the input's device and within the float32/TF32
    tolerances of :data:`grader.checks.compare.TOLERANCES`; forward+backward timed against torch's
    own kernels (cuDNN conv2d, scaled_dot_product_attention, lstm_cell) at sizes where the vendor
    kernels take about a millisecond or more, with ``torch.utils.benchmark`` (which synchronises).
    Without CUDA (or with ``--device cpu``) both report ``skip``.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
import time
import timeit
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from grader.checks.compare import TOLERANCES, assert_close, expect_array, expect_tuple
from grader.runner import codec
from grader.spec import Check, Fail, Skip

#: Target CPU duration of one timed block (seconds): long against the thread clock's resolution
#: (ns) and the set-up of a block, short enough for a check of a few tenths of a second.
BLOCK_S = 0.002
#: ABBA rounds per attempt (each round: two student blocks and two reference blocks).
ROUNDS = 2
#: Measurements before a ratio above the threshold fails.
ATTEMPTS = 3
#: Student seconds per unit and attempt beyond which fewer rounds are run (slow code is slow in
#: every block; this keeps a looped submission's check to about a second per function).
ATTEMPT_STUDENT_BUDGET_S = 0.4
#: A reference that runs this many times slower in the student's process than in the grader's
#: is being interfered with (machine drift between the two measurements stays within 2-3x).
BASELINE_FACTOR = 5.0
#: Outside-view consistency (CPU): the CPU seconds the kernel charged the student process during
#: a block request may exceed the CPU seconds it claims for the timed calls by CPU_FACTOR plus
#: CPU_SLACK_S (decoding the request, timer set-up, the guard); the claim may exceed the kernel's
#: figure by CLAIM_SLACK_S only (clock granularity). CUDA: a claimed wall time may exceed the
#: grader's wall clock by WALL_SLACK_S.
CPU_FACTOR = 1.2
CPU_SLACK_S = 0.002
CLAIM_SLACK_S = 0.0002
WALL_SLACK_S = 0.002
#: Over all blocks of one side in an attempt: the kernel's CPU seconds may exceed the claimed
#: ones by SUM_FACTOR plus BLOCK_OVERHEAD_S per block (measured on a loaded 2-core machine: the
#: handling of a block request costs 0.17-0.85 ms of CPU, median 0.3 ms). A forged claim can
#: thus hide at most about 10% of the work plus that overhead.
SUM_FACTOR = 1.1
BLOCK_OVERHEAD_S = 0.0009
#: A student whose main thread blocks (voluntary context switches beyond the one per request)
#: WAIT_PER_CALL times per call, and at least WAIT_MIN times in an attempt, more than the
#: reference's, is waiting for work done outside its process.
WAIT_PER_CALL = 0.5
WAIT_MIN = 3
#: ... and whose blocks slept (neither running nor waiting for a CPU) this fraction of their wall
#: time, and at least SLEEP_PER_CALL_S per call, more than the reference's blocks.
SLEEP_FRACTION = 0.4
SLEEP_PER_CALL_S = 0.001
#: op_count: counts c0 (base size) and c1 (grown size) "grow" when
#: c1 > GROWTH_FACTOR * c0 + GROWTH_SLACK (a loop multiplies them by about the growth, 3x here).
GROWTH_FACTOR = 1.25
GROWTH_SLACK = 4


# ---------------------------------------------------------------------------------------------
@dataclass
class Inputs:
    """One timing unit's arguments: the student's call and the reference's.

    ``then`` makes the student's unit a forward+backward pair: ``{"fn": backward, "args":
    [dout], "cache_index": k}`` calls ``backward(dout, forward(...)[k])``.
    """

    args: list
    kwargs: dict = field(default_factory=dict)
    ref_args: list | None = None
    ref_kwargs: dict | None = None
    then: dict | None = None

    def wire(self, fn: str, ref: str) -> dict:
        unit = {"fn": fn, "args": list(self.args), "kwargs": dict(self.kwargs), "ref": ref,
                "ref_args": list(self.args if self.ref_args is None else self.ref_args),
                "ref_kwargs": dict(self.kwargs if self.ref_kwargs is None else self.ref_kwargs)}
        if self.then:
            unit["then"] = self.then
        return unit


@dataclass(frozen=True)
class Timed:
    """A function timed against a reference.

    Attributes:
        fn: the student's function (for a pair, the forward one).
        ref: name in :data:`grader.runner.references.REFERENCES`.
        build: ``build(ctx, dtype) -> Inputs``; draws fresh inputs from ``ctx.rng`` (it may call
            the student's forward through ``ctx`` to obtain a ``cache`` handle).
        threshold: the largest acceptable ratio median(student)/median(reference).
        cause: the usual cause of a slow implementation, for the message.
        label: how the message names the timed work (default ``fn``).
        name: key of this unit in thresholds and reports when a function is timed at several
            shapes, e.g. ``"conv_forward[batch]"`` (default ``fn``).
        catches: the loops this unit is sized to expose (``"batch"``, ``"positions"``); the
            calibration compares it with the ``autotests/submissions/exNN/looped_<kind>*.py``
            variants of those kinds (all looped variants when empty).
    """

    fn: str
    ref: str
    build: Callable
    threshold: float
    cause: str
    label: str = ""
    name: str = ""
    catches: tuple = ()

    @property
    def key(self) -> str:
        return self.name or self.fn

    @property
    def title(self) -> str:
        return self.label or self.fn


@dataclass(frozen=True)
class Counted:
    """A function whose work is counted at a base size and at grown sizes.

    Attributes:
        fn: the student's function.
        build: ``build(ctx, size) -> (args, kwargs)`` for a size dict.
        base: the base size, e.g. ``{"N": 2, "H": 6}``.
        growth: ``(key, value, phrase)`` triples: grow ``size[key]`` to ``value``; ``phrase``
            names it for the student ("the batch size N").
        what: what a loop along that axis iterates over, by key ("the batch", "output positions").
        describe: ``describe(size) -> str`` names a size for the message ("w of shape (3, 4)");
            default ``"N=2"`` for the grown key.
    """

    fn: str
    build: Callable
    base: dict
    growth: tuple
    what: dict
    describe: Callable | None = None


@dataclass(frozen=True)
class Plan:
    """The performance plan of one exercise."""

    timed: tuple = ()
    counted: tuple = ()
    gpu_timed: tuple = ()
    gpu_values: Callable | None = None
    hint: str = ""


# -- calibration rule ----------------------------------------------------------------------------
#: Smallest factor a threshold must keep between itself and the worst acceptable ratio, and
#: between the best looped ratio and itself.
MARGIN = 1.5


def calibrated_threshold(worst_ok: float, best_looped: float) -> float | None:
    """The threshold T for one timed unit, from calibration (benchmarks/calibrate.py).

    ``T = sqrt(worst_ok * best_looped)`` (the geometric mean: as many times above the slowest
    acceptable implementation as below the fastest looped one), clamped to
    ``[MARGIN * worst_ok, best_looped / MARGIN]``. The two margins of the geometric mean are
    equal, ``sqrt(best_looped / worst_ok)``, so whenever a threshold exists the clamp leaves it
    unchanged; it documents the requirement rather than moving T.

    Args:
        worst_ok: the largest ratio measured for an acceptable (vectorised) implementation.
        best_looped: the smallest ratio measured for a looped implementation.

    Returns:
        T, or None when ``best_looped < MARGIN**2 * worst_ok`` (no threshold keeps both margins:
        the problem size must change).
    """
    lo, hi = MARGIN * worst_ok, best_looped / MARGIN
    if not lo <= hi:
        return None
    return min(max(math.sqrt(worst_ok * best_looped), lo), hi)


# -- helpers -------------------------------------------------------------------------------------
def _perf_config(ctx) -> dict:
    cfg = ctx.exercise.config.get("performance") if isinstance(ctx.exercise.config, dict) else None
    return cfg if isinstance(cfg, dict) else {}


def _threshold(ctx, timed: Timed, key: str = "thresholds") -> float:
    table = _perf_config(ctx).get(key, {})
    value = table.get(timed.key, table.get(timed.fn))
    return float(value) if value is not None else timed.threshold


def _request(ctx, request: dict, fn: str):
    """Send ``request`` through the student process; raise what its answer means."""
    from grader.engine import Forbidden, StudentRaised
    sample = ctx.process.perf(request)
    answer = sample.answer
    if answer.get("forbidden"):
        names = [str(v) for v in answer["forbidden"]]
        ctx.violations.extend(names)
        raise Forbidden(", ".join(names))
    if answer.get("ok") is True:
        return sample
    if "reference_error" in answer:
        raise Fail(f"the grader's reference for {fn} failed inside your process "
                   f"({str(answer['reference_error'])[:200]}); does your module change numpy or "
                   "torch functions when it is imported? Remove that code")
    err = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    raise StudentRaised(str(err.get("message", fn)) if err.get("type") == "MissingFunction"
                        else fn, err)


def _number(estimate: float) -> int:
    """Calls per block so that one block lasts about BLOCK_S."""
    if not estimate > 0 or not math.isfinite(estimate):
        return 1
    return int(min(100000, max(1, round(BLOCK_S / estimate))))


class Untrusted(Fail):
    """A timing the outside view contradicts. The attempt it happened in is void and is measured
    again; the check fails with this message only when every attempt was contradicted (a forged
    timer is contradicted every time, while an honest process hits a rare accounting hiccup -
    one block in several hundred on a loaded machine - once at most)."""


def _contradiction(fn: str, side: str, claimed: float, cpu: float, wall: float,
                   what: str = "CPU", blocks: int = 1) -> Fail:
    whose = "your function" if side == "student" else "the grader's reference"
    block = "a block" if blocks == 1 else f"{blocks} blocks"
    return Untrusted(
        f"the timing of {fn} cannot be trusted: your process reported {claimed * 1e3:.2f} ms of "
        f"{what} time for {block} of {whose}, while the operating system saw "
        f"{cpu * 1e3:.2f} ms of CPU time and {wall * 1e3:.2f} ms of wall time. Something in your "
        "module changes the timers (time.process_time, time.perf_counter, timeit, "
        "torch.utils.benchmark) or has the work done outside this process (multiprocessing, "
        "subprocess); remove it")


@dataclass
class Measurement:
    """One attempt at one unit: per-call seconds of each block, and the ratio of medians.

    On the CPU the seconds are CPU seconds of the student process (verified from outside); on
    CUDA they are wall seconds with the device synchronised.
    """

    fn: str
    student: list
    reference: list
    inputs: Inputs | None = None
    ref_name: str = ""

    @property
    def ratio(self) -> float:
        return statistics.median(self.student) / max(statistics.median(self.reference), 1e-12)


def _verify_block(fn: str, side: str, device: str, claimed: float, runs: int, number: int,
                  cpu: float, wall: float) -> None:
    """The outside view of one block against what the process claimed (see module docstring)."""
    if not (claimed >= 0 and math.isfinite(claimed)):
        raise _contradiction(fn, side, claimed, cpu, wall)
    if device == "cuda":
        # Wall seconds with synchronisation; Timer.timeit also ran warm-up calls in the block.
        if claimed * runs / number > wall + WALL_SLACK_S:
            raise _contradiction(fn, side, claimed, cpu, wall, "wall")
        return
    if not math.isfinite(cpu):
        return  # the OS gave no figure (not Linux, process gone): nothing to compare with
    # A block cannot have used more CPU than the kernel charged the whole request, nor much
    # less than that (the request's own handling costs a fraction of a millisecond).
    if claimed > cpu + CLAIM_SLACK_S or cpu > claimed * CPU_FACTOR + CPU_SLACK_S:
        raise _contradiction(fn, side, claimed, cpu, wall)


def measure(ctx, units: list[tuple[Timed, Inputs]], device: str = "cpu") -> list[Measurement]:
    """Time every unit once (one attempt): warm-up, then ABBA rounds, each block cross-checked.

    Args:
        ctx: the check's :class:`grader.engine.Context`.
        units: ``(Timed, Inputs)`` pairs.
        device: ``"cpu"`` (CPU seconds, verified against the kernel's CPU clock of the process)
            or ``"cuda"`` (synchronised wall seconds, verified against the grader's wall clock).

    Returns:
        One :class:`Measurement` per unit (per-call seconds).

    Raises:
        Fail: a contradiction between the process's claims and the outside view, or a failing
            reference. StudentRaised / Forbidden / StudentCrash: from the student's code.
    """
    wire = [inp.wire(t.fn, t.ref) for t, inp in units]
    answer = _request(ctx, {"op": "perf_setup", "units": wire, "warmup": 2,
                            "device": device}, units[0][0].fn).answer
    estimates = answer.get("estimates")
    if not isinstance(estimates, list) or len(estimates) != len(units):
        raise Fail("the student process answered the timing set-up with malformed data")
    ctx.calls += 2 * len(units)
    results = []
    for i, ((timed, inp), est) in enumerate(zip(units, estimates)):
        est_s, est_r = (float(est[0]), float(est[1])) if len(est) == 2 else (1.0, 1.0)
        n = {"student": _number(est_s), "reference": _number(est_r)}
        per_round = 2 * (n["student"] * est_s)
        rounds = max(1, min(ROUNDS, int(ATTEMPT_STUDENT_BUDGET_S / max(per_round, 1e-9))))
        per_call: dict[str, list] = {"student": [], "reference": []}
        claimed_sum = {"student": 0.0, "reference": 0.0}
        wall_sum = {"student": 0.0, "reference": 0.0}
        waits = {"student": 0, "reference": 0}
        sleep_sum = {"student": 0.0, "reference": 0.0}
        cpu_sum = {"student": 0.0, "reference": 0.0}
        calls = {"student": 0, "reference": 0}
        known = True
        for r in range(rounds):
            order = ("student", "reference", "reference", "student") if r % 2 == 0 else \
                ("reference", "student", "student", "reference")
            for side in order:
                ans, cpu, wall, waited, sleep = _request(
                    ctx, {"op": "perf_block", "unit": i, "side": side, "number": n[side]},
                    timed.fn)
                claimed = float(ans.get("seconds", float("nan")))
                runs = max(1, int(ans.get("runs", n[side])))
                if side == "student":
                    ctx.calls += runs
                _verify_block(timed.fn, side, device, claimed, runs, n[side], cpu, wall)
                claimed_sum[side] += claimed
                wall_sum[side] += wall
                # one wait per request is the process waiting for it; more are waits inside
                waits[side] += max(waited - 1, 0)
                calls[side] += runs
                sleep_sum[side] += sleep
                cpu_sum[side] += cpu
                known = known and waited >= 0 and math.isfinite(sleep)
                per_call[side].append(claimed / n[side])
        # Work handed to another process costs this one no CPU time, but its main thread must
        # block to wait for the result, at least once per call, and it sleeps meanwhile. Both
        # signals are required: a busy machine makes blocks sleep at their edges (the grader
        # wakes up late), and some computing code blocks briefly now and then.
        if device == "cpu" and all(math.isfinite(v) for v in cpu_sum.values()):
            for side in ("student", "reference"):
                if cpu_sum[side] > claimed_sum[side] * SUM_FACTOR + BLOCK_OVERHEAD_S * 2 * rounds:
                    raise _contradiction(timed.fn, side, claimed_sum[side], cpu_sum[side],
                                         wall_sum[side], blocks=2 * rounds)
        extra_sleep = sleep_sum["student"] - sleep_sum["reference"]
        if device == "cpu" and known and \
                waits["student"] >= max(WAIT_MIN, WAIT_PER_CALL * calls["student"]) + \
                waits["reference"] and \
                extra_sleep > SLEEP_FRACTION * wall_sum["student"] and \
                extra_sleep > SLEEP_PER_CALL_S * calls["student"]:
            raise Untrusted(
                f"the timing of {timed.fn} cannot be trusted: in {calls['student']} calls your "
                f"function blocked {waits['student']} times and slept "
                f"{sleep_sum['student'] * 1e3:.0f} of {wall_sum['student'] * 1e3:.0f} ms, "
                "waiting for something outside its process (CPU time spent elsewhere does not "
                "count here). Do not use multiprocessing, subprocess, threads, time.sleep or "
                "files in a graded function")
        results.append(Measurement(timed.fn, per_call["student"], per_call["reference"], inp,
                                   timed.ref))
    _request(ctx, {"op": "perf_end"}, units[0][0].fn)
    return results


def _to_local(value, backend: str):
    """Arguments as the reference expects them, in the grader's process (baseline timing)."""
    if isinstance(value, codec.Rng):
        return np.random.default_rng(value.seed)
    if isinstance(value, np.ndarray) and backend == "torch" and value.dtype.kind == "f":
        import torch
        return torch.from_numpy(value.copy())
    if isinstance(value, (list, tuple)):
        return type(value)(_to_local(v, backend) for v in value)
    if isinstance(value, dict):
        return {k: _to_local(v, backend) for k, v in value.items()}
    return value


def baseline(ref: str, inputs: Inputs, backend: str, number: int, blocks: int = 2) -> float:
    """Per-call seconds of reference ``ref`` in the grader's own process (best of ``blocks``).

    Single-threaded like the student process (``torch.set_num_threads(1)`` for the duration).
    """
    from grader.runner.references import REFERENCES
    args = _to_local(inputs.args if inputs.ref_args is None else inputs.ref_args, backend)
    kwargs = _to_local(inputs.kwargs if inputs.ref_kwargs is None else inputs.ref_kwargs, backend)
    threads = None
    if backend == "torch":
        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        thunk = REFERENCES[ref](*args, **kwargs)
        thunk()
        timer = timeit.Timer(stmt=thunk, timer=time.thread_time)  # the same clock as inside
        return min(timer.timeit(number) for _ in range(blocks)) / number
    finally:
        if threads is not None:
            torch.set_num_threads(threads)


def _ratio_text(ratios: list[float]) -> str:
    return ", ".join(f"{r:.1f}x" for r in ratios)


def run_timing(ctx, plan: Plan) -> None:
    """The ``performance`` check (CPU): see the module docstring."""
    if not ctx.perf:
        raise Skip("performance checks are off (--no-perf)")
    if ctx.exercise.backend == "torch" and ctx.device == "cuda":
        raise Skip("the CPU timing runs with --device cpu; on the GPU, cuda_performance times "
                   "your code")
    pending = list(plan.timed)
    history: dict[str, list[float]] = {t.key: [] for t in pending}
    last: dict[str, Measurement] = {}
    untrusted: list[Untrusted] = []
    for _attempt in range(ATTEMPTS):
        units = [(t, t.build(ctx, "float64")) for t in pending]
        try:
            measured = measure(ctx, units, "cpu")
        except Untrusted as exc:  # this attempt is void: measure again
            untrusted.append(exc)
            continue
        for (t, _), m in zip(units, measured):
            history[t.key].append(m.ratio)
            last[t.key] = m
        passed = [t for t in pending if history[t.key][-1] <= _threshold(ctx, t)]
        for t in passed:
            _check_baseline(ctx, t, last[t.key])
            _record(ctx, t, last[t.key])
        pending = [t for t in pending if t not in passed]
        if not pending:
            return
    if untrusted and not all(history[t.key] for t in pending):
        raise untrusted[-1]
    t = max(pending, key=lambda u: min(history[u.key]) / _threshold(ctx, u))
    ratios = history[t.key]
    m = last[t.key]
    raise Fail(
        f"{t.title} is too slow: it took {statistics.median(m.student) * 1e3:.3g} ms per "
        f"call, {min(ratios):.1f} times as long as a vectorised reference "
        f"({statistics.median(m.reference) * 1e3:.3g} ms) in the same process; the limit is "
        f"{_threshold(ctx, t):g}x (measured {len(ratios)} times: {_ratio_text(ratios)}). "
        f"Usual cause: {t.cause}"
        + (f" ({len(pending) - 1} more function(s) too slow: "
           f"{', '.join(u.title for u in pending if u is not t)})" if len(pending) > 1 else ""))


def _record(ctx, t: Timed, m: Measurement) -> None:
    """Keep what a passing unit measured in ``ctx.metrics[t.key]``: the ratio to the reference
    and the student's median milliseconds per call (the Gradescope leaderboard shows them)."""
    metrics = getattr(ctx, "metrics", None)
    if metrics is not None:
        metrics[t.key] = {"ratio": round(m.ratio, 3),
                          "ms": round(statistics.median(m.student) * 1e3, 4)}


def _check_baseline(ctx, t: Timed, m: Measurement) -> None:
    """A passing ratio rests on the reference's time in the student's process: compare it with
    the same reference on the same inputs in the grader's process."""
    inside = statistics.median(m.reference)
    number = _number(inside)
    outside = baseline(t.ref, m.inputs, ctx.exercise.backend, number)
    if inside > BASELINE_FACTOR * outside:
        raise Fail(
            f"the timing of {t.fn} cannot be trusted: the grader's reference took "
            f"{inside * 1e3:.3g} ms per call inside your process but {outside * 1e3:.3g} ms in "
            f"the grader's ({inside / outside:.0f}x). Something in your module slows numpy or "
            "torch down (monkey-patching, background threads); remove it")


def sample_ratios(exercise, path, *, seed: int, repeats: int, device: str = "cpu") -> dict:
    """Calibration helper (benchmarks/calibrate.py, benchmarks/flake.py): measure the ratios of
    the submission at ``path`` ``repeats`` times with the production code path, no verdict.

    Args:
        exercise: the :class:`~grader.spec.Exercise` (it must have a ``plan``).
        path: the student's file. seed: base seed. device: "cpu" (CPU units) or "cuda" (GPU units).

    Returns:
        ``{function: [ratio, ...]}``; a function whose code raised maps to ``[]``, and the key
        ``"_error"`` holds the message; ``"_reference_ms"`` maps each function to the
        reference's per-call milliseconds in each repeat.
    """
    from grader.engine import Context
    from grader.runner.process import StudentProcess
    plan = exercise.plan
    units_of = plan.gpu_timed if device == "cuda" else plan.timed
    check = next(c for c in exercise.checks if c.name == "performance") if any(
        c.name == "performance" for c in exercise.checks) else checks_for(plan)[0]
    process = StudentProcess(str(path), exercise.backend, blocked=exercise.forbidden_imports,
                             forbidden_ops=exercise.forbidden_ops, device=device)
    out: dict = {t.key: [] for t in units_of}
    out["_reference_ms"] = {t.key: [] for t in units_of}
    try:
        process.start()
        for r in range(repeats):
            ctx = Context(exercise, check, seed + r, device, process, "", True)
            units = [(t, t.build(ctx, "float32" if device == "cuda" else "float64"))
                     for t in units_of]
            for (t, _), m in zip(units, measure(ctx, units, device)):
                out[t.key].append(m.ratio)
                out["_reference_ms"][t.key].append(statistics.median(m.reference) * 1e3)
    except Exception as exc:  # noqa: BLE001 - reported in the table, not raised
        out["_error"] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        process.close()
    return out


# -- op_count ------------------------------------------------------------------------------------
def _count(ctx, fn: str, args, kwargs) -> dict:
    answer = _request(ctx, {"op": "opcount", "fn": fn, "args": list(args),
                            "kwargs": dict(kwargs),
                            "torch": ctx.exercise.backend == "torch"}, fn).answer
    ctx.calls += 1
    return answer


def _grows(c0: int, c1: int) -> bool:
    return c1 > GROWTH_FACTOR * c0 + GROWTH_SLACK


def _source_line(ctx, lineno: int) -> str:
    lines = (ctx.source or "").splitlines()
    if 1 <= lineno <= len(lines):
        text = lines[lineno - 1].strip()
        return f": `{text[:80]}`" if text else ""
    return ""


def run_op_count(ctx, plan: Plan) -> None:
    """The ``op_count`` check: see the module docstring."""
    if not ctx.perf:
        raise Skip("performance checks are off (--no-perf)")
    torch_ex = ctx.exercise.backend == "torch"
    problems = []
    for c in plan.counted:
        base = _count(ctx, c.fn, *c.build(ctx, dict(c.base)))
        if base.get("events", 0) == 0 and base.get("ops", 0) == 0:
            raise Fail(f"{c.fn}: the grader could not observe your code running (no line of your "
                       "file executed under the tracer): does it call sys.settrace or replace "
                       "the function at run time? Remove that")
        for key, value, phrase in c.growth:
            size = dict(c.base, **{key: value})
            grown = _count(ctx, c.fn, *c.build(ctx, size))
            unit, c0, c1 = None, 0, 0
            show = c.describe or (lambda sz, k=key: f"{k}={sz[k]}")
            if torch_ex and _grows(base["ops"], grown["ops"]):
                unit, c0, c1 = "torch operations", base["ops"], grown["ops"]
            elif _grows(base["events"], grown["events"]):
                unit, c0, c1 = "executed lines of your code", base["events"], grown["events"]
            if unit is None:
                continue
            where = ""
            if grown.get("lines"):
                lineno, hits = grown["lines"][0]
                where = (f" The line run most often is line {lineno} of "
                         f"{ctx.exercise.filename}{_source_line(ctx, int(lineno))} ({hits} times "
                         f"for {show(size)}).")
            problems.append(
                f"{c.fn} loops in Python over {c.what.get(key, 'the data')}: the number of {unit} "
                f"grows with {phrase} ({show(c.base)}: {c0}, {show(size)}: {c1}), while "
                f"vectorised code does the same number at any size.{where}")
            break
    if problems:
        raise Fail("\n".join(problems) + ("\n  Hint: " + plan.hint if plan.hint else ""))


# -- CUDA ----------------------------------------------------------------------------------------
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
        units = [(t, t.build(ctx, "float32")) for t in pending]
        try:
            measured = measure(ctx, units, "cuda")
        except Untrusted as exc:  # void attempt, as on the CPU
            untrusted.append(exc)
            continue
        for (t, _), m in zip(units, measured):
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


# -- input builders ------------------------------------------------------------------------------
def normal(ctx, shape, dtype="float64", scale=1.0):
    return (ctx.rng.normal(0.0, scale, size=shape)).astype(dtype)


def keep_cache(ctx, fn: str, args, kwargs, index: int):
    """Call the student's forward once (untimed) and return the handle of its ``cache``."""
    value = ctx.map(fn, [(tuple(args), dict(kwargs))], keep=(index,))[0]
    if not isinstance(value, (tuple, list)) or len(value) <= index \
            or not isinstance(value[index], codec.Handle):
        raise Fail(f"{fn} must return a tuple whose item {index} is the cache for the backward "
                   "pass; fix the value checks first")
    return value[index]


# -- CUDA correctness (float32 on the device, float64 oracles by torch autograd on the CPU) -----
def cuda_grads(fn, inputs, upstream):
    """Run ``fn(*inputs)`` in float64 with autograd on the CPU; outputs and input gradients
    (the vector-Jacobian products with ``upstream``)."""
    import torch
    from grader.runner.references import _vjp_loss
    leaves = [torch.from_numpy(np.asarray(a, dtype=np.float64)).requires_grad_(True) for a in inputs]
    with torch.enable_grad():
        outs = fn(*leaves)
        outs = outs if isinstance(outs, tuple) else (outs,)
        loss = _vjp_loss(outs, tuple(torch.from_numpy(np.asarray(u, np.float64)) for u in upstream))
        grads = torch.autograd.grad(loss, leaves)
    return [o.detach().numpy() for o in outs], [g.numpy() for g in grads]


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
    f32 = [np.asarray(a, dtype=np.float32) for a in inputs]
    up32 = [np.asarray(u, dtype=np.float32) for u in upstream]
    value = ctx.map(fwd, [(tuple(f32), dict(kwargs))], keep=(n_out,))[0]
    value = expect_tuple(value, n_out + 1, fn=fwd, names="(outputs..., cache)")
    outs, grads = cuda_grads(oracle, [a.astype(np.float64) for a in f32], up32)
    _cuda_compare(ctx, fwd, value[:n_out], outs, out_names)
    back = expect_tuple(ctx.call(bwd, *up32, value[n_out]), len(grad_names), fn=bwd,
                        names="(" + ", ".join(grad_names) + ")")
    _cuda_compare(ctx, bwd, back, grads, grad_names)


# -- what every plan uses -------------------------------------------------------------------------
LOOP = "a Python loop over the elements; use numpy's elementwise operations on the whole array"
BATCH = "a Python loop over the batch; use matrix products / broadcasting"


def with_thresholds(plan: Plan, thresholds: dict) -> Plan:
    """``plan`` with each CPU unit's threshold taken from ``thresholds`` (unit key -> T).

    Raises:
        KeyError: a timed unit has no threshold.
    """
    return dataclasses.replace(plan, timed=tuple(
        dataclasses.replace(t, threshold=float(thresholds[t.key])) for t in plan.timed))


def checks_for(plan: Plan, points: float = 1.0) -> tuple[Check, ...]:
    """The performance checks of one exercise, to splice into its ``checks`` tuple.

    Returns ``performance`` and ``op_count`` (both kind ``performance``; ``points`` each) and,
    for exercises with a GPU plan, ``cuda_values`` (kind ``value``) and ``cuda_performance``
    (kind ``performance``), which skip without CUDA.
    """
    timed = sorted({t.fn for t in plan.timed})
    counted = sorted({c.fn for c in plan.counted})
    checks = [
        Check("performance", "performance", points, lambda ctx: run_timing(ctx, plan),
              tuple(timed), "as fast as a vectorised reference within a calibrated ratio "
                            "(same process, single thread, ABBA medians)"),
        Check("op_count", "performance", points, lambda ctx: run_op_count(ctx, plan),
              tuple(counted), "no Python loop over the batch or the data: the work done does not "
                              "grow with the problem size"),
    ]
    if plan.gpu_values is not None:
        names = tuple(sorted({c.fn for c in plan.counted}))
        checks += [
            Check("cuda_values", "value", points, lambda ctx: run_cuda_values(ctx, plan), names,
                  "float32 CUDA inputs: outputs on the same device, within float32/TF32 "
                  "tolerances"),
            Check("cuda_performance", "performance", points, lambda ctx: run_cuda_timing(ctx, plan),
                  names, "forward+backward on the GPU within a ratio of torch's own kernels"),
        ]
    return tuple(checks)
