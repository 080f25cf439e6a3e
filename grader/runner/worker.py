"""The student process: imports the student's module and calls its functions on request.

This module runs *inside* the untrusted process. Everything it sends back goes through
:mod:`grader.runner.codec` and is judged by the grader, which trusts none of it beyond its shape
as data. It never imports the grader's exercises, checks or oracles, and refuses imports of them
(and of the libraries an exercise forbids) once the student's code may run.

Protocol (each message one ``Connection.send_bytes`` of an encoded dict):
  worker -> grader  ``{"ready": True}`` or ``{"error": {...}}`` after importing the module;
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
import resource
import signal
import sys
import traceback
import warnings

from grader.runner import codec, confine
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


def _apply_limits(limits: dict) -> None:
    """Own session and process group, address-space, file-size and CPU limits (Linux)."""
    os.setsid()
    soft_as = limits.get("memory_bytes")
    if soft_as:
        try:
            import psutil
            base = psutil.Process().memory_info().vms
        except Exception:  # pragma: no cover - psutil missing
            base = 0
        resource.setrlimit(resource.RLIMIT_AS, (base + soft_as, base + soft_as))
    fsize = limits.get("file_bytes")
    if fsize:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file behind
    cpu = limits.get("cpu_seconds")
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    nproc = limits.get("processes")
    if nproc:
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        except (ValueError, OSError):
            pass


def _redirect_output(path: str) -> None:
    """Send the student's stdout/stderr (fd 1 and 2) to ``path``, so it cannot reach the report."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


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


def _others_can_read(path: str) -> bool:
    """Whether a user who is neither owner nor group can reach and list the folder ``path``."""
    import stat
    try:
        real = os.path.realpath(path)
        parts = real.split(os.sep)
        for i in range(1, len(parts)):
            if not os.stat(os.sep.join(parts[:i]) or os.sep).st_mode & stat.S_IXOTH:
                return False
        return os.stat(real).st_mode & (stat.S_IROTH | stat.S_IXOTH) == stat.S_IROTH | stat.S_IXOTH
    except OSError:
        return False


def _keep_imports_reachable() -> None:
    """Before switching to an unprivileged user: every folder on ``sys.path`` (and in the
    ``__path__`` of loaded packages) that other users cannot reach - a Python installed under
    ``/root`` - is opened now and replaced by ``/proc/self/fd/N``, through which the process can
    still import from it after the switch (the kernel checks the folders above an open
    descriptor no more). Only the contents of those folders become readable, nothing beside them.
    """
    mapping: dict[str, str] = {}

    def remap(p):
        if not isinstance(p, str) or not p or not os.path.isdir(p):
            return p
        real = os.path.realpath(p)
        for root, proxy in mapping.items():
            if real == root or real.startswith(root + os.sep):
                return proxy + real[len(root):]
        if _others_can_read(real):
            return p
        fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY)
        mapping[real] = f"/proc/self/fd/{fd}"
        return mapping[real]

    sys.path[:] = [remap(p) for p in sys.path]
    if not mapping:
        return
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if isinstance(paths, list):
            paths[:] = [remap(p) for p in paths]
    sys.path_importer_cache.clear()


def _conceal(folders) -> bool:
    """Cover each of ``folders`` with an empty read-only tmpfs in a mount namespace of this
    process's own (root only, before the user switch; the unprivileged student cannot undo it),
    so the reference solutions and the grader's oracles cannot even be opened. Best effort:
    returns False where the kernel or container refuses (no CAP_SYS_ADMIN, seccomp)."""
    import ctypes
    if not folders:
        return True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
            return False
        # Keep our mounts from propagating back to the grader's namespace.
        if libc.mount(None, b"/", None, 16384 | (1 << 18), None) != 0:  # MS_REC | MS_PRIVATE
            return False
        ok = True
        for folder in folders:
            ok &= libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", 1 | 2 | 4 | 8,  # RDONLY,
                             b"size=4k,mode=0555") == 0  # NOSUID, NODEV, NOEXEC
        return bool(ok)
    except (OSError, AttributeError):
        return False


def _enter_sandbox(job: dict) -> None:
    """Last steps before the student's code runs (in this order):

    * close the fork server's and resource tracker's pipes the child inherited (the student has
      no use for them; the open fork-server pipe would keep the server alive if the grader died);
    * move to the fresh working directory ``job["cwd"]`` (HOME and TMPDIR point there too), so
      files written to relative paths (a forged ``results.json``) land where nobody reads them,
      and reduce the environment to the grader's allow-list (:mod:`grader.runner.confine`);
    * ``no_new_privs``: setuid programs (sudo, su) grant no privileges to this process tree;
    * when ``job["run_as"]`` is ``[uid, gid]`` and this is root: keep the import path usable
      (:func:`_keep_imports_reachable`), cover ``job["conceal"]`` (:func:`_conceal`), then drop
      to that user for good (groups, real, effective and saved ids), so the student can signal,
      trace or write nothing that belongs to the grader;
    * parent-death signal: if the fork server ends (it does when the grader dies), so does this.
    Exits with status 70 if the switch of user fails (never runs student code as root then).
    """
    import ctypes
    try:
        from multiprocessing import forkserver, resource_tracker
        for owner, attr in ((forkserver._forkserver, "_forkserver_alive_fd"),
                            (resource_tracker._resource_tracker, "_fd")):
            fd = getattr(owner, attr, None)
            if isinstance(fd, int):
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(owner, attr, None)
    except Exception:  # noqa: BLE001 - best effort
        pass
    cwd = job.get("cwd")
    if cwd:
        confine.enter_scratch(cwd)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux
        libc = None
    if libc is not None:
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    if cwd and job.get("confine_writes"):
        try:  # writes only beneath the scratch folder (and /dev/null) from here on
            confine.confine_writes([cwd])
        except OSError:
            os._exit(70)
    run_as = job.get("run_as")
    if run_as and os.geteuid() == 0:
        uid, gid = int(run_as[0]), int(run_as[1])
        _keep_imports_reachable()
        _conceal(job.get("conceal", ()))
        try:
            if cwd:
                os.chown(cwd, uid, gid)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        except OSError:
            os._exit(70)
        if 0 in os.getresuid() or 0 in os.getresgid():
            os._exit(70)
    if libc is not None:
        parent = os.getppid()
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG (after the user switch)
        if os.getppid() != parent:
            os._exit(70)


def main(conn, job: dict) -> None:
    """Entry point of the student process (a child of the fork server).

    Args:
        conn: a ``multiprocessing`` Connection; only ``send_bytes``/``recv_bytes`` are used.
        job: plain data from the grader: ``path`` (absolute path of the student's .py file),
            ``backend`` ("numpy"|"torch"), ``device``, ``blocked`` (top-level module names),
            ``limits`` (memory_bytes, file_bytes, cpu_seconds, processes), ``output`` (file for the
            student's stdout/stderr), ``threads``; for the sandbox (:func:`_enter_sandbox`)
            ``cwd`` (a fresh folder), ``run_as`` (``[uid, gid]`` or None), ``hidden`` (folders
            no module may be imported from), ``conceal`` (folders to cover, under root).
    """
    _apply_limits(job.get("limits", {}))
    _redirect_output(job["output"])
    if job["backend"] == "torch":
        import torch
        torch.set_num_threads(int(job.get("threads", 1)))
    path = os.path.abspath(job["path"])
    blocked = tuple(job.get("blocked", ())) + ALWAYS_BLOCKED
    guard, violations = _make_guard(job)
    timing.prepare(job)  # imports the timers/counters need, while imports still work
    try:
        with open(path, "rb") as fh:
            source = fh.read()
    except OSError:
        source = None
    _enter_sandbox(job)
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
            if req.get("op") != "perf_block":  # a block's garbage goes with its outputs
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
            leaked = _leaked(blocked)
            if violations or leaked:
                res["forbidden"] = (sorted(set(violations)) + leaked)[:10]
            try:
                codec.encode(res)
            except codec.CodecError as exc:
                res = {"ok": False, "error": {"type": "UnsupportedReturn", "message": str(exc),
                                              "traceback": "", "line": None}}
            results.append(res)
            if not res["ok"]:
                break
        conn.send_bytes(codec.encode({"results": results}))
        timing.between_requests()


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
