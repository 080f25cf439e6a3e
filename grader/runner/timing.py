"""Timing and work counting inside the student process (the worker side of performance checks).

Imported by :mod:`grader.runner.worker` at start-up, before the student's module is loaded, so
the clocks (and, on CUDA, the event class and ``synchronize``) captured here are the genuine ones.
The student process holds no reference implementation: the references run in the grader's
process (:mod:`grader.checks.measure`). Everything here runs in the untrusted process, so the
grader checks every figure against the kernel's CPU clock of the process and rechecks outputs.

Every student call - graded, timed or counted - runs under :func:`student_state`: the garbage
collector off (the worker collects between requests) and the same trace function installed
(:func:`_trace`), which counts lines only while an ``opcount`` request asked for it, so the
student's code sees the same ``gc.isenabled()`` and ``sys.gettrace()`` in every call.

Requests (``op`` field; each answered with one message):

``perf_load``  ``{"calls": [{"fn", "args", "kwargs", "then"?}, ...], "device"}``: builds one
    zero-argument thunk per call (``fn(*args, **kwargs)``, or ``then_fn(*then_args,
    fn(...)[cache_index])`` for a forward+backward pair), each on its own inputs.
``perf_block``  runs every loaded thunk once, keeping the outputs, and answers ``{"ok": True,
    "seconds": s}``: the thread CPU seconds of the loop (``time.thread_time``); on CUDA the sum
    of per-call event times, each call after an L2 flush and ended by a device-wide
    synchronize before its end event (work moved to another stream is timed too).
``perf_outputs``  ``{"indices": [...]}``: the kept outputs of those calls (then dropped).
``opcount``  ``{"fn", "args", "kwargs", "torch": bool}``: calls ``fn`` once and answers
    ``{"ok": True, "ops": n, "op_names": {...}, "lines": [[file, lineno, count], ...],
    "events": n}``: the aten operators dispatched (torch) and the line events executed in every
    frame of code that is not Python's, a library's or the grader's (the student's file, its
    helper modules, code compiled at run time).
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
import sysconfig
import threading
import time
import warnings
from collections import Counter

#: Captured at import, before any student code runs.
_thread_time = time.thread_time
_settrace = sys.settrace
_threading_settrace = threading.settrace
_gc_disable = gc.disable
_gc_collect = gc.collect
#: CUDA: (Event class, synchronize, flush buffer) captured by :func:`prepare`.
_CUDA: dict = {}

#: Largest number of distinct lines / operator names reported by ``opcount``.
TOP = 8


def _library_prefixes() -> tuple[str, ...]:
    """Folders whose code is not the student's: Python's installation, site-packages, grader."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__),
             os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            paths.add(sysconfig.get_paths()[key])
    paths.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p)
    return tuple(sorted({os.path.realpath(p) + os.sep for p in paths if p}))


_LIBRARY = _library_prefixes()
_KNOWN: dict = {}


def _is_student_code(filename: str) -> bool:
    """True for code that is not Python's, a library's or the grader's (cached per file name)."""
    known = _KNOWN.get(filename)
    if known is None:
        if filename.startswith("<frozen"):
            known = False
        elif filename.startswith("<"):
            known = True  # compiled at run time: exec, compile, <string>
        else:
            known = not os.path.realpath(filename).startswith(_LIBRARY)
        _KNOWN[filename] = known
    return known


class _Count:
    """Line events per (file, line), collected only while ``active``."""

    active = False
    lines: Counter = Counter()


def _local(frame, event, arg):
    if event == "line" and _Count.active:
        _Count.lines[(frame.f_code.co_filename, frame.f_lineno)] += 1
    return _local


def _trace(frame, event, arg):
    """The one trace function installed during every student call."""
    if _Count.active and _is_student_code(frame.f_code.co_filename):
        return _local
    return None


@contextlib.contextmanager
def student_state():
    """The interpreter state of every student call: collector off, :func:`_trace` installed
    (on this thread and for any thread started meanwhile), warnings recorded."""
    _gc_disable()
    previous = sys.gettrace()
    _threading_settrace(_trace)
    _settrace(_trace)
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            yield
    finally:
        _settrace(previous)
        _threading_settrace(None)


def between_requests() -> None:
    """What the worker runs after answering a request (except a timed block): a collection,
    cheap because the start-up objects were frozen (:func:`freeze`)."""
    _gc_collect()


def freeze() -> None:
    """After the student's module loaded: move every object to the permanent generation, turn
    the collector off (it runs between requests only)."""
    gc.collect()
    gc.freeze()
    _gc_disable()


def prepare(job: dict) -> None:
    """Import what timing and counting need, before the student process drops privileges; on
    CUDA capture the event class, ``synchronize`` and an L2 flush buffer (twice the L2 size).

    Args:
        job: the worker's job (``backend``, ``device``).
    """
    if job.get("backend") != "torch":
        return
    import torch
    from torch.utils import _python_dispatch  # noqa: F401 - the operator counter
    if job.get("device") == "cuda" and torch.cuda.is_available():
        l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0)
        _CUDA.update(event=torch.cuda.Event, sync=torch.cuda.synchronize,
                     flush=torch.empty(flush_bytes(l2), dtype=torch.uint8, device="cuda"))


def flush_bytes(l2_cache_size: int) -> int:
    """Size of the buffer written before each timed CUDA call: twice the L2 cache (at least
    8 MiB; 256 MiB when the device reports no L2 size), so no input stays cached between calls."""
    if not l2_cache_size or l2_cache_size <= 0:
        return 256 * 2**20
    return max(2 * int(l2_cache_size), 8 * 2**20)


class PerfSession:
    """The loaded thunks of one block and the outputs of its calls."""

    def __init__(self):
        self.thunks: list = []
        self.outputs: list = []
        self.device = "cpu"


_STATE = PerfSession()


def _thunk(session, call: dict):
    fn = getattr(session.module, str(call.get("fn")), None)
    if not callable(fn):
        return None, str(call.get("fn"))
    args = [session.to_student(a) for a in call.get("args", [])]
    kwargs = {k: session.to_student(v) for k, v in call.get("kwargs", {}).items()}
    then = call.get("then")
    if not then:
        return (lambda: fn(*args, **kwargs)), None
    fn2 = getattr(session.module, str(then["fn"]), None)
    if not callable(fn2):
        return None, str(then["fn"])
    args2 = [session.to_student(a) for a in then.get("args", [])]
    index = int(then.get("cache_index", -1))
    return (lambda: fn2(*args2, fn(*args, **kwargs)[index])), None


def _missing(name: str) -> dict:
    return {"ok": False, "error": {"type": "MissingFunction", "message": name, "traceback": "",
                                   "line": None}}


def _run_student(guard, violations, student_traceback, student_file, body):
    """Run ``body()`` (which calls student code) under the guard and :func:`student_state`."""
    try:
        with guard(), student_state():
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
        req: the decoded request. session: the worker's ``_Session`` (module, conversions).
        guard: context-manager factory of the forbidden-operator guard.
        violations: the guard's list of forbidden operators reached so far.
        student_traceback: ``worker._student_traceback`` (exception -> data).

    Returns:
        The answer dict (plain data for :mod:`grader.runner.codec`).
    """
    op = req.get("op")
    if op == "perf_load":
        _STATE.thunks, _STATE.outputs = [], []
        _STATE.device = "cuda" if req.get("device") == "cuda" and _CUDA else "cpu"
        for call in req.get("calls", []):
            thunk, missing = _thunk(session, call)
            if thunk is None:
                return _missing(missing)
            _STATE.thunks.append(thunk)
        return {"ok": True}
    if op == "perf_block":
        return _block(guard, violations, student_traceback, session.student_file)
    if op == "perf_outputs":
        values = [session.to_wire(_STATE.outputs[int(i)]) for i in req.get("indices", [])
                  if 0 <= int(i) < len(_STATE.outputs)]
        _STATE.thunks, _STATE.outputs = [], []
        return {"ok": True, "values": values}
    if op == "opcount":
        return _opcount(req, session, guard, violations, student_traceback)
    return {"ok": False, "error": {"type": "BadRequest", "message": f"unknown request {op!r}",
                                   "traceback": "", "line": None}}


def _block(guard, violations, student_traceback, student_file) -> dict:
    thunks, outputs = _STATE.thunks, []
    _STATE.outputs = outputs

    def cpu():
        t0 = _thread_time()
        for thunk in thunks:
            outputs.append(thunk())
        return _thread_time() - t0

    def cuda():
        event, sync, flush = _CUDA["event"], _CUDA["sync"], _CUDA["flush"]
        pairs = []
        for thunk in thunks:
            flush.fill_(1)  # evict the inputs from L2
            start, end = event(enable_timing=True), event(enable_timing=True)
            start.record()
            outputs.append(thunk())
            sync()  # every stream of the device: work on a side stream is timed too
            end.record()
            pairs.append((start, end))
        sync()
        return sum(s.elapsed_time(e) for s, e in pairs) / 1e3

    err, seconds = _run_student(guard, violations, student_traceback, student_file,
                                cuda if _STATE.device == "cuda" else cpu)
    if err:
        return err
    return {"ok": True, "seconds": float(seconds)}


def _op_counter():
    """A TorchDispatchMode that counts every aten operator dispatched while it is active."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class OpCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.counts: Counter = Counter()

        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # As in grader.runner.guard: otherwise the first dispatch imports torch._dynamo.
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
    counter = _op_counter() if req.get("torch") else None
    _Count.lines = Counter()

    def body():
        _Count.active = True
        try:
            if counter is not None:
                with counter:
                    return fn(*args, **kwargs)
            return fn(*args, **kwargs)
        finally:
            _Count.active = False

    err, _ = _run_student(guard, violations, student_traceback, session.student_file, body)
    if err:
        return err
    ops = counter.counts if counter is not None else Counter()
    lines = _Count.lines
    student = os.path.realpath(session.student_file)
    return {"ok": True, "ops": int(sum(ops.values())),
            "op_names": {k: int(v) for k, v in ops.most_common(TOP)},
            "lines": [[("" if os.path.realpath(f) == student else os.path.basename(f)[:80]),
                       int(n), int(c)] for (f, n), c in lines.most_common(TOP)],
            "events": int(sum(lines.values()))}
