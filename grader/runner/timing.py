"""Timing and work counting inside the student process (the worker side of performance checks).

Imported by :mod:`grader.runner.worker` at start-up, before the student's module is loaded, so the
timer functions and the references it uses are the genuine ones at that moment. Everything here
runs in the untrusted process: the grader (``grader.checks.performance``) drives it block by
block and checks every figure it reports against what the operating system shows from outside
(the process's CPU clock and the grader's own wall clock), so a student module that patches
``time.perf_counter``, ``timeit`` or ``torch.utils.benchmark`` is caught, not believed.

Requests (``op`` field; each answered with one message):

``perf_setup``  ``{"units": [unit, ...], "warmup": k, "device": "cpu"|"cuda"}``: builds, per unit,
    the student's thunk (``fn(*args, **kwargs)``, or ``then_fn(*then_args, fn(...)[cache_index])``
    for a forward+backward pair) and the reference thunk
    (``references.REFERENCES[ref](*ref_args, **ref_kwargs)``), runs each ``k`` times (warm-up) and
    answers ``{"ok": True, "estimates": [[student_s, reference_s], ...]}`` (seconds per call).
``perf_block``  ``{"unit": i, "side": "student"|"reference", "number": n}``: times ``n`` calls
    and answers ``{"ok": True, "seconds": total, "runs": calls_made}``: on the CPU the thread's
    CPU seconds, measured with ``timeit.Timer(timer=time.thread_time)``; on CUDA wall seconds
    from ``torch.utils.benchmark.Timer`` (it synchronises the device).
``perf_end``  drops the units and turns the garbage collector back on (it is off from
    ``perf_setup`` on, so that no collection runs between blocks).
``opcount``  ``{"fn", "args", "kwargs", "torch": bool}``: calls ``fn`` once and answers
    ``{"ok": True, "ops": n, "op_names": {...}, "lines": [[lineno, count], ...], "events": n}``:
    the aten operators dispatched (torch) and the line events executed in the student's file.

A student error answers ``{"ok": False, "error": {...}}`` (the worker's traceback format); a
failure of a reference answers ``{"ok": False, "reference_error": "..."}``.
"""
from __future__ import annotations

import gc
import sys
import time
import timeit
from collections import Counter

from grader.runner.references import REFERENCES

#: Captured at import, before any student code runs.
_perf_counter = time.perf_counter
_thread_time = time.thread_time
_Timer = timeit.Timer

#: Largest number of distinct lines / operator names reported by ``opcount``.
TOP = 8


class PerfSession:
    """Timing units of one student process (kept between ``perf_setup`` and ``perf_block``)."""

    def __init__(self):
        self.units: list[tuple] = []
        self.device = "cpu"
        self.gc_was_enabled = True


_STATE = PerfSession()


def prepare(job: dict) -> None:
    """Import what timing and counting will need in this process, before the student process
    drops privileges (after that it may be unable to read the Python installation).

    Args:
        job: the worker's job (``backend``, ``device``).
    """
    if job.get("backend") != "torch":
        return
    import torch.nn.functional  # noqa: F401 - the references
    from torch.utils import _python_dispatch  # noqa: F401 - the operator counter
    if job.get("device") == "cuda":
        import torch.utils.benchmark  # noqa: F401 - CUDA block timing


def _sync(device: str) -> None:
    if device == "cuda":
        import torch
        torch.cuda.synchronize()


def _student_thunk(session, unit: dict):
    fn = getattr(session.module, str(unit["fn"]), None)
    if not callable(fn):
        return None, str(unit["fn"])
    args = [session.to_student(a) for a in unit.get("args", [])]
    kwargs = {k: session.to_student(v) for k, v in unit.get("kwargs", {}).items()}
    then = unit.get("then")
    if not then:
        return (lambda: fn(*args, **kwargs)), None
    fn2 = getattr(session.module, str(then["fn"]), None)
    if not callable(fn2):
        return None, str(then["fn"])
    args2 = [session.to_student(a) for a in then.get("args", [])]
    index = int(then.get("cache_index", -1))
    return (lambda: fn2(*args2, fn(*args, **kwargs)[index])), None


def _reference_thunk(session, unit: dict):
    factory = REFERENCES[str(unit["ref"])]
    args = [session.to_student(a) for a in unit.get("ref_args", [])]
    kwargs = {k: session.to_student(v) for k, v in unit.get("ref_kwargs", {}).items()}
    return factory(*args, **kwargs)


def _missing(name: str) -> dict:
    return {"ok": False, "error": {"type": "MissingFunction", "message": name, "traceback": "",
                                   "line": None}}


def _run_student(thunk, guard, violations, student_traceback, student_file, body):
    """Run ``body()`` (which calls the student's thunk) under the forbidden-operator guard."""
    try:
        with guard():
            value = body()
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        out = {"ok": False, "error": student_traceback(exc, student_file)}
        if violations:
            out["forbidden"] = sorted(set(violations))[:10]
        return out, None
    if violations:
        return {"ok": False, "forbidden": sorted(set(violations))[:10],
                "error": {"type": "Forbidden", "message": "forbidden operator", "traceback": "",
                          "line": None}}, None
    return None, value


def handle(req: dict, session, guard, violations: list, student_traceback) -> dict:
    """Answer one timing/counting request (see the module docstring).

    Args:
        req: the decoded request. session: the worker's ``_Session`` (module, argument
            conversion). guard: context-manager factory of the forbidden-operator guard.
        violations: the guard's list of forbidden operators reached so far.
        student_traceback: ``worker._student_traceback`` (exception -> data).

    Returns:
        The answer dict (plain data for :mod:`grader.runner.codec`).
    """
    op = req.get("op")
    if op == "perf_setup":
        return _setup(req, session, guard, violations, student_traceback)
    if op == "perf_block":
        return _block(req, session, guard, violations, student_traceback)
    if op == "perf_end":
        _STATE.units = []
        if _STATE.gc_was_enabled:
            gc.enable()
        return {"ok": True}
    if op == "opcount":
        return _opcount(req, session, guard, violations, student_traceback)
    return {"ok": False, "reference_error": f"unknown request {op!r}"}


def _setup(req, session, guard, violations, student_traceback) -> dict:
    _STATE.units = []
    # No garbage collection from here to perf_end: timeit pauses the collector during a block,
    # and the collection it then owes would run between blocks, on CPU time the grader sees
    # from outside but no block claims (tens of ms in a process with torch loaded).
    _STATE.gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    _STATE.device = "cuda" if req.get("device") == "cuda" else "cpu"
    warmup = max(1, int(req.get("warmup", 2)))
    estimates = []
    for unit in req.get("units", []):
        student, missing = _student_thunk(session, unit)
        if student is None:
            return _missing(missing)
        try:
            reference = _reference_thunk(session, unit)
        except Exception as exc:  # noqa: BLE001 - reported as a reference failure
            return {"ok": False, "reference_error": f"{type(exc).__name__}: {exc}"[:500]}
        times = []
        for side, thunk in (("student", student), ("reference", reference)):
            best = float("inf")
            clock = _perf_counter if _STATE.device == "cuda" else _thread_time
            for i in range(warmup):
                t0 = clock()
                if side == "student":
                    err, _ = _run_student(thunk, guard, violations, student_traceback,
                                          session.student_file, thunk)
                    if err:
                        return err
                else:
                    try:
                        thunk()
                    except Exception as exc:  # noqa: BLE001
                        return {"ok": False,
                                "reference_error": f"{type(exc).__name__}: {exc}"[:500]}
                _sync(_STATE.device)
                best = min(best, clock() - t0)
                if best > 0.05:  # slow code: its first call was warm-up enough
                    break
            times.append(best)
        estimates.append(times)
        _STATE.units.append((student, reference))
    return {"ok": True, "estimates": estimates}


def _block(req, session, guard, violations, student_traceback) -> dict:
    try:
        student, reference = _STATE.units[int(req["unit"])]
    except (IndexError, KeyError, ValueError, TypeError):
        return {"ok": False, "reference_error": "no such timing unit"}
    number = max(1, int(req.get("number", 1)))
    side = req.get("side")
    thunk = student if side == "student" else reference

    def timed():
        if _STATE.device == "cuda":
            from torch.utils.benchmark import Timer
            m = Timer(stmt="f()", globals={"f": thunk}, num_threads=1).timeit(number)
            # Timer.timeit runs max(number // 100, 2) warm-up calls first.
            return m.raw_times[0], number + max(number // 100, 2)
        # CPU time of this process (clock_gettime(CLOCK_PROCESS_CPUTIME_ID), ns resolution):
        # unlike wall time it does not count the moments the scheduler gave the core to another
        # process, and the grader can verify it from outside to the last millisecond.
        # CPU time of this thread (clock_gettime(CLOCK_THREAD_CPUTIME_ID), ns resolution):
        # unlike wall time it does not count the moments the scheduler gave the core to another
        # process, and the grader checks it against the whole process's CPU time from outside
        # (work moved to other threads shows up there, not here). The process-wide clock would
        # only advance at scheduler ticks here, because RLIMIT_CPU arms a process CPU timer.
        return _Timer(stmt=thunk, timer=_thread_time).timeit(number), number

    if side == "student":
        err, value = _run_student(thunk, guard, violations, student_traceback,
                                  session.student_file, timed)
        if err:
            return err
    else:
        try:
            value = timed()
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "reference_error": f"{type(exc).__name__}: {exc}"[:500]}
    seconds, runs = value
    return {"ok": True, "seconds": float(seconds), "runs": int(runs)}


def _op_counter():
    """A TorchDispatchMode that counts every aten operator dispatched while it is active."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class OpCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.counts: Counter = Counter()

        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # As in grader.runner.guard: otherwise the first dispatch imports torch._dynamo
            # (seconds, and impossible once the student process has dropped privileges).
            return False

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.counts[func._schema.name] += 1
            return func(*args, **(kwargs or {}))

    return OpCounter()


def _opcount(req, session, guard, violations, student_traceback) -> dict:
    fn = getattr(session.module, str(req.get("fn")), None)
    if not callable(fn):
        return _missing(str(req.get("fn")))
    args = [session.to_student(a) for a in req.get("args", [])]
    kwargs = {k: session.to_student(v) for k, v in req.get("kwargs", {}).items()}
    student_file = session.student_file
    lines: Counter = Counter()

    def local(frame, event, arg):
        if event == "line":
            lines[frame.f_lineno] += 1
        return local

    def tracer(frame, event, arg):
        # Only frames of the student's own file are traced line by line.
        return local if frame.f_code.co_filename == student_file else None

    counter = _op_counter() if req.get("torch") else None

    def body():
        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            if counter is not None:
                with counter:
                    return fn(*args, **kwargs)
            return fn(*args, **kwargs)
        finally:
            sys.settrace(previous)

    err, _ = _run_student(body, guard, violations, student_traceback, student_file, body)
    if err:
        return err
    ops = counter.counts if counter is not None else Counter()
    return {"ok": True, "ops": int(sum(ops.values())),
            "op_names": {k: int(v) for k, v in ops.most_common(TOP)},
            "lines": [[int(k), int(v)] for k, v in lines.most_common(TOP)],
            "events": int(sum(lines.values()))}
