"""The student process: imports the student's module and calls its functions on request.

This module runs *inside* the untrusted process. Everything it sends back goes through
:mod:`grader.runner.codec` and is judged by the grader, which trusts none of it beyond its shape
as data. It never imports the grader's exercises, checks or oracles, and refuses imports of them
(and of the libraries an exercise forbids) once the student's code may run.

Protocol (each message one ``Connection.send_bytes`` of an encoded dict):
  worker -> grader  ``{"ready": True}`` or ``{"error": {...}}`` after importing the module, or
                    ``{"sandbox": reason}`` instead when the sandbox could not be set up (no
                    student code ran: :mod:`grader.runner.sandbox`);
  grader -> worker  ``{"op": "calls", "calls": [{"fn", "args", "kwargs", "inputs"}...]}``;
  worker -> grader  ``{"results": [{"ok": True, "value": ..., "inputs": ...} | {"ok": False,
                    "error": {...}}, ...]}`` (stops at the first error);
  grader -> worker  ``{"op": "exit"}``.
  grader -> worker  ``{"op": "perf_load" | "perf_block" | "perf_outputs" | "opcount", ...}``:
                    performance checks, answered by :func:`grader.runner.timing.handle`.
  grader -> worker  ``{"op": "rng", "seed": s}``; worker -> grader ``{"handle": Handle}``: a
                    ``np.random.default_rng(s)`` kept in the object table, so several calls can
                    share one generator (and it advances between them).
A call may carry ``"global_rng_seed": s``: the worker seeds ``np.random`` and ``random`` with ``s``
before the call and reports in ``"global_rng_changed"`` which of them the call drew from/reseeded.
A call may carry ``"keep": [i, ...]``: those items of the returned tuple (a layer's ``cache``) stay
in the object table and go back as handles; with ``"inputs"``, handle arguments go back as handles.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import traceback
import warnings

from grader.runner import codec, sandbox
from grader.runner import timing  # performance checks; loaded before the student's module

#: Modules the student may never import, whatever the exercise: the grader itself.
ALWAYS_BLOCKED = ("grader", "dlgrade", "solutions")


class _ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuses imports of forbidden top-level packages with an ImportError naming the rule, and
    of any module whose file lies in a ``hidden`` folder (the grader's package, the reference
    solutions), whatever name it is imported under (``sys.path.insert(0, ".../solutions")``)."""

    def __init__(self, blocked: tuple[str, ...], hidden: tuple[str, ...] = ()):
        self.blocked = blocked
        self.hidden = tuple(os.path.realpath(h) + os.sep for h in hidden)

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in self.blocked:
            raise ImportError(f"dlgrade: importing '{fullname}' is not allowed in this exercise")
        if self.hidden:
            import importlib.machinery
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            where = [getattr(spec, "origin", None) or ""] + \
                list(getattr(spec, "submodule_search_locations", None) or [])
            if any(os.path.realpath(w).startswith(self.hidden) for w in where if w):
                raise ImportError(f"dlgrade: importing '{fullname}' is not allowed: its file is "
                                  "part of the grader or of the reference solutions")
        return None



def _student_traceback(exc: BaseException, student_file: str) -> dict:
    """The exception as data, its traceback trimmed to frames in the student's file."""
    try:  # the exception is the student's object: its __str__ may raise or lie about its type
        message = str(exc)
        frames = traceback.extract_tb(exc.__traceback__)
        own = [f for f in frames if os.path.abspath(f.filename) == student_file]
        if isinstance(exc, SyntaxError) and exc.filename:
            own = []
        lines = traceback.format_list(own) if own else []
        text = "Traceback (most recent call last):\n" + "".join(lines) if lines else ""
        text += "".join(traceback.format_exception_only(type(exc), exc))
    except Exception:  # noqa: BLE001
        message, own, text = f"<unprintable {type(exc).__name__}>", [], f"{type(exc).__name__}\n"
    line = own[-1].lineno if own else getattr(exc, "lineno", None)
    return {"type": str(type(exc).__name__)[:200], "message": message[:2000],
            "traceback": text[-8000:], "line": line if isinstance(line, int) else None}


class _Session:
    """The live state of one student process: the module, the object table, the backend."""

    def __init__(self, module, backend: str, device: str, student_file: str):
        self.module = module
        self.backend = backend
        self.device = device
        self.student_file = student_file
        self.objects: list = []
        self.torch = sys.modules.get("torch") if backend == "torch" else None

    # -- conversion between wire data and the student's types ---------------------------------
    def to_student(self, value):
        import numpy as np
        if isinstance(value, codec.Handle):
            if not 0 <= value.id < len(self.objects):
                raise codec.CodecError("unknown handle")
            return self.objects[value.id]
        if isinstance(value, codec.Rng):
            return np.random.default_rng(value.seed)
        if isinstance(value, codec.Tensor) and self.torch is not None:
            # A tensor the student returned earlier (e.g. inside a cache) coming back: rebuild it
            # with its dtype on the device it was reported on.
            return self.torch.from_numpy(value.array.copy()).to(value.device)
        if isinstance(value, np.ndarray) and self.torch is not None and value.dtype.kind == "f":
            return self.torch.from_numpy(value).to(self.device)
        if isinstance(value, tuple):
            return tuple(self.to_student(v) for v in value)
        if isinstance(value, list):
            return [self.to_student(v) for v in value]
        if isinstance(value, dict):
            return {k: self.to_student(v) for k, v in value.items()}
        return value

    def to_wire(self, value, depth: int = 0):
        import numpy as np
        torch = self.torch
        if value is None or isinstance(value, (bool, int, float, str, np.integer, np.floating,
                                               codec.Handle)):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                return value
        if torch is not None and isinstance(value, torch.Tensor):
            t = value.detach()
            if t.dtype in (torch.float64, torch.float32, torch.float16, torch.int64, torch.int32,
                           torch.bool, torch.uint8, torch.int8, torch.int16):
                return codec.Tensor(t.cpu().numpy(), str(t.device))
        if depth < 4 and isinstance(value, tuple):
            return tuple(self.to_wire(v, depth + 1) for v in value)
        if depth < 4 and isinstance(value, list):
            return [self.to_wire(v, depth + 1) for v in value]
        if depth < 4 and isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {k: self.to_wire(v, depth + 1) for k, v in value.items()}
        self.objects.append(value)
        return codec.Handle(len(self.objects) - 1, type(value).__name__[:64])

    def keep(self, value) -> codec.Handle:
        """Store ``value`` in the object table; the grader sees only the returned handle."""
        self.objects.append(value)
        return codec.Handle(len(self.objects) - 1, type(value).__name__[:64])

    # -- requests ---------------------------------------------------------------------------
    def call(self, req: dict) -> dict:
        fn = getattr(self.module, req["fn"], None)
        if not callable(fn):
            return {"ok": False, "error": {"type": "MissingFunction", "message": req["fn"],
                                           "traceback": "", "line": None}}
        args = [self.to_student(a) for a in req.get("args", [])]
        kwargs = {k: self.to_student(v) for k, v in req.get("kwargs", {}).items()}
        probe = req.get("global_rng_seed")
        before = _global_rng_state(probe) if isinstance(probe, int) else None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            return {"ok": False, "error": _student_traceback(exc, self.student_file)}
        keep = req.get("keep") or ()
        if keep and isinstance(value, (tuple, list)):
            # Items the grader asked to keep here (a ``cache``) go back as opaque handles.
            value = tuple(self.keep(v) if i in keep else v for i, v in enumerate(value))
        out = {"ok": True, "value": self.to_wire(value),
               "warnings": [f"{w.category.__name__}: {w.message}"[:300] for w in caught[:5]]}
        if before is not None:
            out["global_rng_changed"] = _global_rng_changed(before)
        if req.get("inputs"):
            # Arguments that came in as handles go back as the same handles, not as data.
            args = [w if isinstance(w, codec.Handle) else a for w, a in zip(req.get("args", []), args)]
            out["inputs"] = self.to_wire((list(args), dict(kwargs)))
        return out


def _global_rng_state(seed: int):
    """Seed the global generators (numpy's legacy ``np.random`` and the stdlib ``random``) with
    ``seed`` and return a snapshot of both, for :func:`_global_rng_changed` after the call."""
    import random

    import numpy as np
    np.random.seed(seed % 2**32)
    random.seed(seed)
    return np.random.get_state(), random.getstate()


def _global_rng_changed(before) -> list[str]:
    """Names of the global generators whose state differs from the snapshot ``before`` (a draw,
    or a re-seed, changes it): ``"numpy.random"`` and/or ``"random"``; empty when untouched."""
    import random

    import numpy as np
    (name, keys, pos, has_gauss, cached), py_state = before
    now = np.random.get_state()
    changed = []
    if not (now[0] == name and np.array_equal(now[1], keys) and now[2:] == (pos, has_gauss, cached)):
        changed.append("numpy.random")
    if random.getstate() != py_state:
        changed.append("random")
    return changed


def _load_module(path: str, blocked: tuple[str, ...], hidden: tuple[str, ...] = (),
                 source: bytes | None = None):
    """Import the student's file as a module named after its stem, with the import guard on.

    Modules the exercise forbids that are already loaded (the fork server may have torch) are
    dropped from ``sys.modules`` so that ``import torch`` reaches the guard. ``source``: the file's
    bytes, read before privileges were dropped (compiled under the file's own name, and put in
    linecache so tracebacks show the student's lines).
    """
    sys.meta_path.insert(0, _ImportBlocker(blocked, hidden))
    for name in list(sys.modules):
        if name.split(".")[0] in blocked and not name.startswith("grader.runner"):
            del sys.modules[name]
    directory = os.path.dirname(path)
    sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if source is None:
        spec.loader.exec_module(module)
    else:
        import linecache
        text = importlib.util.decode_source(source)
        linecache.cache[path] = (len(text), None, text.splitlines(True), path)
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
    return module


def _leaked(blocked: tuple[str, ...]) -> list[str]:
    """Forbidden modules loaded although the import guard refuses them (the student removed the
    guard from ``sys.meta_path`` or loaded them by other means), and a removed guard itself."""
    found = sorted({n.split(".")[0] for n in list(sys.modules)
                    if n.split(".")[0] in blocked and not n.startswith("grader.runner")})
    out = [f"import of {n} (past dlgrade's import guard)" for n in found]
    if not any(isinstance(f, _ImportBlocker) for f in sys.meta_path):
        out.append("removal of dlgrade's import guard")
    return out


def main(conn, job: dict) -> None:
    """Entry point of the student process (a child of the fork server).

    Args:
        conn: a ``multiprocessing`` Connection; only ``send_bytes``/``recv_bytes`` are used.
        job: plain data from the grader: ``path`` (absolute path of the student's .py file),
            ``backend`` ("numpy"|"torch"), ``device``, ``blocked`` (top-level module names),
            ``limits`` (memory_bytes, file_bytes, cpu_seconds), ``output`` (file for the
            student's stdout/stderr), ``threads``; for the sandbox (:func:`sandbox.enter`)
            ``cwd`` (a fresh folder), ``run_as`` (``[uid, gid]`` or None), ``hidden`` (folders
            no module may be imported from), ``conceal`` (folders to cover, under root),
            ``confine_writes`` and ``writable_extra``.

    If the sandbox cannot be set up (:class:`sandbox.SandboxFailure`), no student code runs: the
    worker answers ``{"sandbox": reason}`` and exits.
    """
    sandbox.apply_limits(job.get("limits", {}))
    sandbox.redirect_output(job["output"])
    if job["backend"] == "torch":
        _preload_torch(job)
    path = os.path.abspath(job["path"])
    blocked = tuple(job.get("blocked", ())) + ALWAYS_BLOCKED
    guard, violations = _make_guard(job)
    timing.prepare(job)  # imports the timers/counters need, while imports still work
    try:
        with open(path, "rb") as fh:
            source = fh.read()
    except OSError:
        source = None
    try:
        sandbox.enter(job)
        sandbox.forbid_threads()  # last: no thread or process can start after this
    except sandbox.SandboxFailure as exc:
        conn.send_bytes(codec.encode({"sandbox": str(exc)[:2000]}))
        return
    try:
        module = _load_module(path, blocked, tuple(job.get("hidden", ())), source)
    except BaseException as exc:  # noqa: BLE001 - the student's import may raise anything
        conn.send_bytes(codec.encode({"error": _student_traceback(exc, path)}))
        return
    session = _Session(module, job["backend"], job.get("device", "cpu"), path)
    timing.freeze()  # the collector runs between requests only (timing.student_state)
    conn.send_bytes(codec.encode({"ready": True}))
    while True:
        try:
            req = codec.decode(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if req.get("op") == "exit":
            return
        if req.get("op") == "signature":
            conn.send_bytes(codec.encode({"params": _parameters(module, req.get("fn"))}))
            continue
        if req.get("op") in ("perf_load", "perf_block", "perf_outputs", "opcount"):
            conn.send_bytes(codec.encode(timing.handle(req, session, guard, violations,
                                                       _student_traceback)))
            # a block's garbage goes with its outputs; a load makes none worth its time (its
            # CPU time is charged to the block, less a small allowance: checks.measure)
            if req.get("op") not in ("perf_load", "perf_block"):
                timing.between_requests()
            continue
        if req.get("op") == "rng":
            import numpy as np
            session.objects.append(np.random.default_rng(int(req.get("seed", 0))))
            conn.send_bytes(codec.encode({"handle": codec.Handle(len(session.objects) - 1,
                                                                 "Generator")}))
            continue
        results = []
        for call in req.get("calls", []):
            with guard(), timing.student_state():
                res = session.call(call)
            if violations:
                res["forbidden"] = sorted(set(violations))[:10]
            results.append(res)
            if not res["ok"]:
                break
        conn.send_bytes(_batch_answer(results, _leaked(blocked), violations))
        timing.between_requests()


def _batch_answer(results: list, leaked: list, violations: list) -> bytes:
    """The encoded answer to a batch of calls. A forbidden module found loaded after the batch
    marks its last result (the grader stops there). A result that cannot be encoded (e.g. an
    array of float128) becomes an ``UnsupportedReturn`` error and ends the list, as if the batch
    had stopped at it: one encoding in the usual case, one per result only when one fails."""
    if leaked and results:
        results[-1]["forbidden"] = (sorted(set(violations)) + leaked)[:10]
    try:
        return codec.encode({"results": results})
    except codec.CodecError:
        pass
    for i, res in enumerate(results):
        try:
            codec.encode(res)
        except codec.CodecError as exc:
            marks = [m for r in results[i:] for m in r.get("forbidden", ())]
            results[i:] = [{"ok": False, "error": {"type": "UnsupportedReturn",
                                                   "message": str(exc), "traceback": "",
                                                   "line": None}}]
            if marks:
                results[i]["forbidden"] = sorted(set(marks))[:10]
            break
    return codec.encode({"results": results})


def _parameters(module, name) -> list | None:
    import inspect
    fn = getattr(module, str(name), None)
    if not callable(fn):
        return None
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None


def _make_guard(job: dict):
    """A context-manager factory active around every student call (runtime forbidden-op guard)."""
    import contextlib
    if job["backend"] != "torch":
        return contextlib.nullcontext, []
    from grader.runner.guard import VIOLATIONS, forbidden_ops_guard
    return lambda: forbidden_ops_guard(tuple(job.get("forbidden_ops", ()))), VIOLATIONS


def _preload_torch(job: dict) -> None:
    """Everything torch starts threads for, done before :func:`sandbox.forbid_threads`: one
    intra-op thread; on a machine with a GPU, the CUDA context (when the device is cuda) and
    autograd's device threads (one per GPU, started by the first backward pass whatever the
    device of its tensors; no grader code runs a backward here since the references moved to the
    grader's process, but an autograd call the guard lets through must not be the one that
    starts a thread)."""
    import torch
    torch.set_num_threads(int(job.get("threads", 1)))
    if job.get("device") == "cuda" and torch.cuda.is_available():
        torch.zeros(1, device="cuda").sum().item()  # creates the context and its threads
    leaf = torch.zeros(1, requires_grad=True)
    torch.autograd.grad(leaf.sum(), leaf)
