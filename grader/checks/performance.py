"""Performance checks: is the student's code vectorised? Timing ratios and counted work.

Four checks per exercise (all built by :func:`checks_for`):

``performance`` (kind ``performance``)
    Times the student's function (in its process) against a library reference doing comparable
    vectorised work (:mod:`grader.checks.references`, timed in the grader's own process),
    single-threaded, warm-up first, in ABBA order, every call on inputs not seen before, some
    outputs of every block rechecked against the oracle (:mod:`grader.checks.measure`). The
    verdict is ``median(student) / median(reference) <= T``; a failing ratio is re-measured up
    to :data:`ATTEMPTS` times before the check fails. T per unit comes from calibration
    (``benchmarks/calibrate.py``; numbers in ``docs/performance.md``) and can be overridden in
    the course configuration. The student's figures come from inside the untrusted process, so
    every block is cross-checked from outside (the kernel's CPU clock of the process): a
    contradiction voids the attempt, and a check whose every attempt is contradicted fails.

``op_count`` (kind ``performance``)
    Noise-free companion: runs each function once at a base problem size and once with the batch
    (or spatial/sequence/feature) size grown, counting the aten operators dispatched (torch
    exercises, a ``TorchDispatchMode``) and the Python line events in the student's own file
    (``sys.settrace``). Work that grows with the batch size means a Python loop over the batch;
    the message names the line executed most often. Same verdict on every machine.

``cuda_values`` and ``cuda_performance``: see :mod:`grader.checks.cuda`.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from grader.checks.compare import TOLERANCES, assert_close, expect_array
from grader.checks.measure import Measurement, Untrusted, measure, request
from grader.runner import codec
from grader.spec import Check, Fail, Skip

#: Measurements before a ratio above the threshold fails.
ATTEMPTS = 3
#: ... unless every failing unit is above FAR times its threshold: then one measurement decides
#: (calibration: the worst acceptable ratio stays below T / 2.3 on a loaded machine, so a ratio
#: of 4 T would need 9x noise). It keeps a looped submission's check to one attempt.
FAR = 4.0
#: A unit whose first ABBA round measures at most CLEAR times its threshold passes on that round
#: (calibration: every looped ratio stays above 1.5 T, so this needs 3x noise in the student's
#: favour); the others get every round of :data:`grader.checks.measure.ROUNDS`.
CLEAR = 0.5


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

    def wire(self, fn: str) -> dict:
        """The student's call as a timing request carries it (no reference: that stays here)."""
        unit = {"fn": fn, "args": list(self.args), "kwargs": dict(self.kwargs)}
        if self.then:
            unit["then"] = self.then
        return unit


@dataclass(frozen=True)
class Timed:
    """A function timed against a reference.

    Attributes:
        fn: the student's function (for a pair, the forward one).
        ref: name in :data:`grader.checks.references.REFERENCES` (timed in the grader's process).
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
        oracle: ``oracle(ctx, inputs, value)``: checks the student's output ``value`` (wire
            data) for one timed call on ``inputs`` with the value checks' tolerances, raising
            :class:`~grader.spec.Fail`; every student block has some of its calls rechecked.
        flops: ``flops(inputs)``, a lower bound of the floating-point operations of one call
            (GPU units: the physical floor of :mod:`grader.checks.cuda`).
    """

    fn: str
    ref: str
    build: Callable
    threshold: float
    cause: str
    label: str = ""
    name: str = ""
    catches: tuple = ()
    oracle: Callable | None = None
    flops: Callable | None = None

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
        try:
            measured = measure(ctx, pending, "cpu",
                               clear_below=lambda t: CLEAR * _threshold(ctx, t))
        except Untrusted as exc:  # this attempt is void: measure again
            untrusted.append(exc)
            continue
        for t, m in zip(pending, measured):
            history[t.key].append(m.ratio)
            last[t.key] = m
        passed = [t for t in pending if history[t.key][-1] <= _threshold(ctx, t)]
        for t in passed:
            _record(ctx, t, last[t.key])
        pending = [t for t in pending if t not in passed]
        if not pending:
            return
        if all(history[t.key][-1] > FAR * _threshold(ctx, t) for t in pending):
            break  # far beyond every limit: no machine noise explains it, measuring again won't
    if untrusted and not all(history[t.key] for t in pending):
        raise untrusted[-1]
    t = max(pending, key=lambda u: min(history[u.key]) / _threshold(ctx, u))
    ratios = history[t.key]
    m = last[t.key]
    raise Fail(
        f"{t.title} is too slow: it took {statistics.median(m.student) * 1e3:.3g} ms per "
        f"call, {min(ratios):.1f} times as long as a vectorised reference "
        f"({statistics.median(m.reference) * 1e3:.3g} ms, library kernels on inputs of the same "
        f"size, one thread); the limit is "
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
            for t, m in zip(units_of, measure(ctx, list(units_of), device)):
                out[t.key].append(m.ratio)
                out["_reference_ms"][t.key].append(statistics.median(m.reference) * 1e3)
    except Exception as exc:  # noqa: BLE001 - reported in the table, not raised
        out["_error"] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        process.close()
    return out


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


def recheck(value, expected, *, fn: str, names, items=None, rtol=None, atol=None,
            device=None, dtype: str = "float64") -> None:
    """Check a timed call's output against the oracle (value checks' float64 tolerances).

    Args:
        value: the student's output as wire data (an array, or a tuple of them).
        expected: the oracle's arrays, one per checked item.
        names: the items' names for the message ("out", "dx", ...).
        items: indices of ``value``'s items to check (None: ``value`` is the single output).
        rtol, atol: tolerances (default ``TOLERANCES["float64"]``, atol scaled by the largest
            expected magnitude, at least 1). device: "cpu"/"cuda" for torch exercises
            (tensors). dtype: the dtype the outputs must have ("float32" on CUDA).

    Raises:
        Fail: wrong type, shape, or values.
    """
    got = [value] if items is None else (
        [value[i] for i in items] if isinstance(value, (tuple, list)) and len(value) > max(items)
        else None)
    if got is None:
        raise Fail(f"{fn} returned {type(value).__name__} instead of a tuple")
    r0, a0 = TOLERANCES[dtype]
    for g, e, name in zip(got, expected, names):
        e = np.asarray(e, dtype=np.float64)
        if e.shape == () and isinstance(g, (int, float, np.integer, np.floating)):
            try:
                arr = np.asarray(float(g))
            except OverflowError:   # a Python int beyond float64
                raise Fail(f"{fn} returned {name} as an integer too large for a float64 in a "
                           "timed call") from None
        else:
            arr = expect_array(g, fn=fn, what=name, shape=e.shape, dtype=dtype, device=device)
        scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
        assert_close(arr, e, fn=fn, what=name, on="the inputs of a timed call", dtype=dtype,
                     rtol=r0 if rtol is None else rtol, atol=(a0 if atol is None else atol) * scale)


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


from grader.checks.opcount import run_op_count  # noqa: E402 - it uses the plan types above


def _cuda():
    from grader.checks import cuda
    return cuda


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
            Check("cuda_values", "value", points, lambda ctx: _cuda().run_cuda_values(ctx, plan), names,
                  "float32 CUDA inputs: outputs on the same device, within float32/TF32 "
                  "tolerances"),
            Check("cuda_performance", "performance", points, lambda ctx: _cuda().run_cuda_timing(ctx, plan),
                  names, "forward+backward on the GPU within a ratio of torch's own kernels"),
        ]
    return tuple(checks)
