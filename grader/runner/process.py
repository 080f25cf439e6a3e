"""Starting, talking to and ending student processes (grader side).

Student processes are forked from a ``multiprocessing`` fork server that has numpy (and, when a
torch exercise is graded, torch) already imported, so each exercise pays for ``fork`` rather than
for ``import torch``. The fork server is started before the grader computes anything, so no input,
seed-derived value or oracle output is in its memory for a child to find.

Every student process runs in its own session and process group under the limits of
:class:`Limits`; :meth:`StudentProcess.close` kills the group and any process that escaped it (the
grader is a child subreaper, so orphans of the student re-parent to it and can be found).
"""
from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import tempfile
import time
from dataclasses import dataclass

import psutil

from grader.runner import codec

#: Largest message accepted from a student process, in bytes.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: How much of the student's stdout/stderr is kept for the report, in bytes.
OUTPUT_KEEP_BYTES = 4096


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student process.

    Attributes:
        call_timeout_s: wall-clock seconds one batch of calls may take.
        budget_s: wall-clock seconds all calls of one exercise may take together.
        memory_bytes: address space the student may add on top of the warm process (RLIMIT_AS).
        file_bytes: largest file the student process may write, its captured output included
            (RLIMIT_FSIZE).
        cpu_seconds: CPU seconds for the whole process (RLIMIT_CPU).
        processes: RLIMIT_NPROC (not enforced for root; the process group is killed anyway).
    """

    call_timeout_s: float = 20.0
    budget_s: float = 90.0
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 1024**2
    cpu_seconds: int = 120
    processes: int = 64


class StudentCrash(Exception):
    """The student process died, hung, or sent something that is not a valid message.

    Attributes:
        reason: a one-line, student-facing description ("timed out after 20 s", "exited with
            status 0 during the call").
        output: the tail of what the student printed.
    """

    def __init__(self, reason: str, output: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.output = output


class StudentImportError(Exception):
    """The student's module could not be imported; ``error`` is the traceback data."""

    def __init__(self, error: dict, output: str = ""):
        super().__init__(error.get("message", ""))
        self.error = error
        self.output = output


_started: set[tuple[str, ...]] = set()


def become_subreaper() -> None:
    """Make this process a child subreaper (Linux), so orphaned student processes re-parent here."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def warm_up(backends: set[str]) -> None:
    """Start the fork server with the needed libraries imported (returns at once; it loads in the
    background). Call before the grader computes any input or oracle.
    """
    preload = ["numpy", "grader.runner.worker"]
    if "torch" in backends:
        preload += ["torch", "grader.runner.guard"]
    key = tuple(preload)
    if key in _started:
        return
    become_subreaper()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload)
    multiprocessing.forkserver.ensure_running()
    _started.add(key)


class StudentProcess:
    """One student module loaded in an isolated process.

    Args:
        path: the student's ``.py`` file.
        backend: ``"numpy"`` or ``"torch"``.
        blocked: top-level modules the student may not import.
        forbidden_ops: aten operator prefixes refused at run time (torch).
        limits: the :class:`Limits`.
        device: torch device for tensors sent to the student ("cpu" or "cuda").

    Raises (from :meth:`start`): StudentImportError, StudentCrash.
    """

    def __init__(self, path: str, backend: str, *, blocked=(), forbidden_ops=(), limits=Limits(),
                 device: str = "cpu"):
        self.path = os.path.abspath(path)
        self.backend = backend
        self.blocked = tuple(blocked)
        self.forbidden_ops = tuple(forbidden_ops)
        self.limits = limits
        self.device = device
        self.proc = None
        self.conn = None
        self.spent_s = 0.0
        self.calls = 0
        fd, self.output_path = tempfile.mkstemp(prefix="dlgrade-out-", suffix=".txt")
        os.close(fd)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Fork the student process and import the module in it."""
        warm_up({self.backend})
        ctx = multiprocessing.get_context("forkserver")
        parent, child = ctx.Pipe(duplex=True)
        from grader.runner import worker
        job = {"path": self.path, "backend": self.backend, "device": self.device,
               "blocked": list(self.blocked), "forbidden_ops": list(self.forbidden_ops),
               "output": self.output_path, "threads": 1,
               "limits": {"memory_bytes": self.limits.memory_bytes,
                          "file_bytes": self.limits.file_bytes,
                          "cpu_seconds": self.limits.cpu_seconds,
                          "processes": self.limits.processes}}
        self.proc = ctx.Process(target=worker.main, args=(child, job), daemon=False)
        self.proc.start()
        child.close()
        self.conn = parent
        msg = self._receive(self.limits.call_timeout_s, during="importing your module")
        if "error" in msg:
            err = msg["error"] if isinstance(msg["error"], dict) else {"message": str(msg["error"])}
            out = self.output()
            self.close()
            raise StudentImportError(err, out)
        if msg.get("ready") is not True:
            self.close()
            raise StudentCrash("sent an unexpected message while importing")

    def close(self) -> None:
        """End the student process, its process group and every descendant. Idempotent."""
        if self.proc is None:
            return
        pid = self.proc.pid
        try:
            if self.conn is not None and self.proc.is_alive():
                self.conn.send_bytes(codec.encode({"op": "exit"}))
                self.proc.join(0.2)
        except (OSError, ValueError):
            pass
        kill_tree(pid)
        self.proc.join(1.0)
        if self.conn is not None:
            self.conn.close()
        self.proc = None
        self.conn = None

    def __del__(self):
        try:
            self.close()
            os.unlink(self.output_path)
        except Exception:
            pass

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    # -- calls ------------------------------------------------------------------------------
    def calls_batch(self, calls: list[dict]) -> list[dict]:
        """Run several calls in one round trip; returns one result dict per call run.

        Each call is ``{"fn": name, "args": [...], "kwargs": {...}, "inputs": bool}``. The list
        returned stops at the first call that raised. Results are validated data (see codec).

        Raises:
            StudentCrash: the process died, hung past the timeout or the exercise budget, or
                answered with something malformed.
        """
        if not self.alive:
            raise StudentCrash("the student process is not running")
        remaining = self.limits.budget_s - self.spent_s
        if remaining <= 0:
            raise StudentCrash(f"the exercise's time budget of {self.limits.budget_s:g} s is used up")
        self.conn.send_bytes(codec.encode({"op": "calls", "calls": calls}))
        self.calls += len(calls)
        timeout = min(self.limits.call_timeout_s, remaining)
        msg = self._receive(timeout, during="the call")
        results = msg.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results) \
                or not 0 < len(results) <= len(calls):
            self.close()
            raise StudentCrash("answered with a malformed message")
        if not results[-1].get("ok") is True and len(results) != len(calls):
            pass  # stopped at an error, as the protocol says
        elif len(results) != len(calls):
            self.close()
            raise StudentCrash("answered with a malformed message")
        return results

    def signature(self, fn: str) -> list[str] | None:
        """Parameter names of ``fn`` in the student's module (None: no such function).

        Raises:
            StudentCrash: as :meth:`calls_batch`.
        """
        if not self.alive:
            raise StudentCrash("the student process is not running")
        self.conn.send_bytes(codec.encode({"op": "signature", "fn": fn}))
        params = self._receive(self.limits.call_timeout_s, during="inspecting your functions").get("params")
        if params is None:
            return None
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise StudentCrash("answered with a malformed message")
        return params

    def new_rng(self, seed: int) -> codec.Handle:
        """A ``np.random.default_rng(seed)`` created in the student process and kept there; the
        returned handle can be passed to several calls, which then share (and advance) it.

        Raises:
            StudentCrash: as :meth:`calls_batch`.
        """
        if not self.alive:
            raise StudentCrash("the student process is not running")
        self.conn.send_bytes(codec.encode({"op": "rng", "seed": int(seed)}))
        handle = self._receive(self.limits.call_timeout_s, during="creating a generator").get("handle")
        if not isinstance(handle, codec.Handle):
            self.close()
            raise StudentCrash("answered with a malformed message")
        return handle

    def _receive(self, timeout: float, during: str) -> dict:
        t0 = time.monotonic()
        try:
            ready = self.conn.poll(timeout)
        except (OSError, EOFError):
            ready = True
        waited = time.monotonic() - t0
        self.spent_s += waited
        if not ready:
            self.close()
            raise StudentCrash(f"did not finish within {timeout:g} s during {during} "
                               "(an infinite loop, or far too slow)", self.output())
        try:
            data = self.conn.recv_bytes(MAX_MESSAGE_BYTES)
        except (EOFError, OSError):
            code = self._exit_code()
            self.close()
            raise StudentCrash(f"the process ended during {during} ({code})", self.output())
        try:
            msg = codec.decode(data)
        except codec.CodecError:
            self.close()
            raise StudentCrash(f"sent a malformed message during {during}", self.output())
        if not isinstance(msg, dict):
            self.close()
            raise StudentCrash(f"sent a malformed message during {during}", self.output())
        self.spent_s += time.monotonic() - t0 - waited
        return msg

    def _exit_code(self) -> str:
        if self.proc is None:
            return "unknown status"
        self.proc.join(0.5)
        code = self.proc.exitcode
        if code is None:
            return "closed its connection"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            hint = " - probably out of memory or CPU time" if name in ("SIGKILL", "SIGXCPU") else ""
            return f"killed by {name}{hint}"
        return f"exited with status {code}: sys.exit/os._exit in your code?"

    def output(self) -> str:
        """The first bytes the student printed (stdout and stderr together), decoded leniently."""
        try:
            with open(self.output_path, "rb") as fh:
                data = fh.read(OUTPUT_KEEP_BYTES + 1)
        except OSError:
            return ""
        text = data[:OUTPUT_KEEP_BYTES].decode("utf-8", "replace")
        return text + ("\n[... output truncated]" if len(data) > OUTPUT_KEEP_BYTES else "")


def kill_tree(pid: int) -> None:
    """SIGKILL the process group and session of ``pid``, and every descendant of this process
    that is not the fork server (orphans re-parent to us as subreaper)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        me = psutil.Process()
        from multiprocessing import resource_tracker
        keep = {getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None),
                getattr(resource_tracker._resource_tracker, "_pid", None)}
        for child in me.children(recursive=True):
            if child.pid in keep:
                continue
            try:
                if child.pid == pid or os.getsid(child.pid) == pid or child.ppid() == me.pid:
                    child.kill()
            except (psutil.Error, ProcessLookupError, PermissionError):
                pass
    except psutil.Error:
        pass
