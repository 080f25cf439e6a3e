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

import atexit
import contextlib
import ctypes
import importlib.util
import multiprocessing
import multiprocessing.forkserver
import os
import pwd
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import psutil

from grader.runner import codec, confine

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
        processes: how many processes and threads the student's code may add to those its user
            already runs (RLIMIT_NPROC, set to that count plus this; the kernel does not enforce
            it for root, which is one reason student code runs as ``run_as`` under root).
        run_as: when dlgrade runs as root, the user the student's code runs as (privileges are
            dropped in the student process before its file is loaded). ``""`` keeps root. Used
            only if the user exists and can read numpy (torch) and the runner; otherwise a
            warning says student code runs as root. See docs/security.md.
        confine_writes: under Linux >= 5.13, let the student process change the file system
            only beneath its scratch folder (Landlock, :func:`grader.runner.confine.confine_writes`).
            Off by default until the hostile suite's observation files move into the scratch
            folder (docs/security.md, class 1).

    The import of the module counts against ``budget_s`` (restarts after a crash too), so one
    exercise takes at most about ``budget_s`` plus a few seconds of clean-up, whatever it does.
    """

    call_timeout_s: float = 20.0
    budget_s: float = 90.0
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 1024**2
    cpu_seconds: int = 120
    processes: int = 64
    run_as: str = "nobody"
    confine_writes: bool = False


class StudentCrash(Exception):
    """The student process died, hung, or sent something that is not a valid message.

    Attributes:
        reason: a one-line, student-facing description whose subject is "the student process"
            ("did not finish within 20 s during the call ...", "ended during the call (exited
            with status 0 ...)").
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
#: pids of the student processes open now (any thread); other children of the fork server are
#: processes a student started through its socket, and are killed with the next clean-up.
_LIVE: set[int] = set()
_LIVE_LOCK = threading.Lock()
_RUN_AS: dict[tuple[str, str], tuple[int, int] | None] = {}


def become_subreaper() -> None:
    """Make this process a child subreaper (Linux), so orphaned student processes re-parent here,
    and non-dumpable, so a student process running as the same user can neither ptrace it nor
    read its memory (``/proc/<pid>/mem``, ``environ``) to find inputs or oracle values."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _world_readable(path: str) -> bool:
    """Whether any user can reach ``path`` (every folder above it searchable by others) and read
    it (a folder: list and search it)."""
    p = Path(path).resolve()
    try:
        for parent in reversed(p.parents):
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        mode = os.stat(p).st_mode
    except OSError:
        return False
    need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
    return mode & need == need


def resolve_run_as(user: str, backend: str) -> tuple[int, int] | None:
    """``(uid, gid)`` the student process switches to, or None to keep this process's user.

    Only when this process is root and ``user`` names a non-root user who can read numpy (torch
    for torch exercises) and the runner, whose submodules and shared libraries load lazily. An
    interpreter installed where others cannot reach it (under ``/root``) is handled by the worker
    (see ``worker._keep_imports_reachable``). Otherwise None, with a warning (student code then
    runs as root).
    """
    if not user or os.geteuid() != 0:
        return None
    key = (user, backend)
    if key in _RUN_AS:
        return _RUN_AS[key]
    result, why = None, ""
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        why = f"there is no user '{user}'"
    else:
        needed = [str(Path(__file__).resolve().parent)]
        for mod in ("numpy",) + (("torch",) if backend == "torch" else ()):
            spec = importlib.util.find_spec(mod)
            if spec is not None and spec.origin:
                needed.append(os.path.dirname(spec.origin))
        unreadable = [d for d in needed if not _world_readable(d)]
        if pw.pw_uid == 0:
            why = f"'{user}' is root"
        elif unreadable:
            why = f"'{user}' cannot read {unreadable[0]}"
        else:
            result = (pw.pw_uid, pw.pw_gid)
    if result is None:
        warnings.warn(f"dlgrade: student code runs as root because {why} (set Limits.run_as, "
                      "or make the Python installation readable by that user)", RuntimeWarning,
                      stacklevel=2)
    _RUN_AS[key] = result
    return result


def _tasks_of(uid: int) -> int:
    """Number of tasks (threads included, as RLIMIT_NPROC counts them) whose real uid is ``uid``."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as fh:
                text = fh.read()
        except OSError:
            continue
        fields = dict(line.split(b":", 1) for line in text.splitlines() if b":" in line)
        try:
            if int(fields[b"Uid"].split()[0]) == uid:
                total += int(fields[b"Threads"])
        except (KeyError, ValueError, IndexError):
            continue
    return total


def _hidden_dirs(student_file: str) -> list[str]:
    """Folders the student's code may not import from: the grader package and, in a source
    checkout, the reference solutions next to it (unless the file graded lies inside one)."""
    package = Path(__file__).resolve().parents[1]
    out = []
    for d in (package, package.parent / "solutions"):
        if d.is_dir() and not str(Path(student_file).resolve()).startswith(str(d) + os.sep):
            out.append(str(d))
    return out


def _concealed_dirs(student_file: str) -> list[str]:
    """Folders made invisible to a student process that runs as :attr:`Limits.run_as` (covered by
    an empty read-only file system in its own mount namespace): the reference solutions of a
    source checkout and the grader's exercise specs and checks (oracles and judges), unless the
    file graded lies inside one. Needs root and a kernel that allows mount namespaces."""
    package = Path(__file__).resolve().parents[1]
    out = []
    for d in (package.parent / "solutions", package / "exercises", package / "checks"):
        if d.is_dir() and not str(Path(student_file).resolve()).startswith(str(d) + os.sep):
            out.append(str(d))
    return out


def warm_up(backends: set[str]) -> None:
    """Start the fork server with the needed libraries imported (returns at once; it loads in the
    background). Call before the grader computes any input or oracle.

    A server already running without a needed library (one started for a numpy exercise, then a
    torch exercise graded by the same process: the pytest plugin, a batch worker) is replaced
    when no student process is open, so the torch exercise's student processes do not each
    import torch themselves (about 1.5 s each).
    """
    preload = ["numpy", "grader.runner.worker"]
    if "torch" in backends:
        preload += ["torch", "grader.runner.guard"]
    server = multiprocessing.forkserver._forkserver
    running = getattr(server, "_forkserver_pid", None) is not None
    if running and any(set(preload) <= set(key) for key in _started):
        return
    become_subreaper()
    with _LIVE_LOCK:
        if running:
            if _LIVE:  # its student processes would die with it: keep it (slower, still right)
                return
            _end_fork_server()
            _started.clear()
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(preload)
        # The fork server starts with the environment built by confine (one BLAS thread, no CI
        # variable or token of the grader's), which every student process inherits.
        with confine.grader_environment_swapped():
            multiprocessing.forkserver.ensure_running()
        if not _started:
            atexit.register(_end_fork_server)
        _started.add(tuple(preload))


def _end_fork_server() -> None:
    """SIGKILL the fork server and forget it (at exit, and before :func:`warm_up` replaces it).

    Left alone, it notices that this process ended and exits normally, which with torch loaded
    takes 0.4-0.7 s; it holds this process's stdout/stderr meanwhile, so a CI log (a pipe) sees
    the command end that much later. Killing it never waits on its teardown, and it holds no
    state (its student processes are ended before). The next ``ensure_running`` starts a new one.
    """
    server = multiprocessing.forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:  # gone or reaped already
        pass
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
    server._forkserver_pid = server._forkserver_alive_fd = server._forkserver_address = None


@contextlib.contextmanager
def _main_module_hidden():
    """Hide this process's ``__main__`` from ``multiprocessing`` while a student process starts.

    ``multiprocessing`` sends the parent's main module (its path, or its name under ``python -m``)
    along with every new process, and the child re-imports it before running its target. Here
    that is the ``dlgrade`` script (so click, rich and the command line), pytest, or a Jupyter
    kernel launcher: 0.1-0.2 s per student process, and grader code in the student's memory for
    nothing (the target, ``grader.runner.worker.main``, is imported by name). With a blank
    ``__main__`` in place, the preparation data carries no main module. Call with ``_LIVE_LOCK``
    held, so two threads never swap it at once.
    """
    real = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real


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
        self._sandbox: str | None = None  # the student process's working directory
        self._baseline: set[int] = set()  # this process's children before the student started
        self._aborted = False  # the watchdog killed the student process mid-message

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Fork the student process and import the module in it.

        The student process gets a fresh empty working directory (removed by :meth:`close`),
        runs as :attr:`Limits.run_as` when this process is root, and may not import from the
        grader's package or the reference solutions. The import counts against the budget.
        """
        self.close()  # a restart: end what is left of the previous process and its folder
        remaining = self.limits.budget_s - self.spent_s
        if remaining <= 0:
            raise StudentCrash(f"used up the exercise's time budget of {self.limits.budget_s:g} s")
        warm_up({self.backend})
        ctx = multiprocessing.get_context("forkserver")
        parent, child = ctx.Pipe(duplex=True)
        from grader.runner import worker
        run_as = resolve_run_as(self.limits.run_as, self.backend)
        nproc = self.limits.processes
        if nproc:
            nproc += _tasks_of(run_as[0] if run_as else os.getuid())
        self._sandbox = tempfile.mkdtemp(prefix="dlgrade-cwd-")
        job = {"path": self.path, "backend": self.backend, "device": self.device,
               "blocked": list(self.blocked), "forbidden_ops": list(self.forbidden_ops),
               "output": self.output_path, "threads": 1, "cwd": self._sandbox,
               "confine_writes": self.limits.confine_writes,
               "run_as": list(run_as) if run_as else None, "hidden": _hidden_dirs(self.path),
               "conceal": _concealed_dirs(self.path) if run_as else [],
               "limits": {"memory_bytes": self.limits.memory_bytes,
                          "file_bytes": self.limits.file_bytes,
                          "cpu_seconds": self.limits.cpu_seconds,
                          "processes": nproc}}
        self._baseline = _children_pids()
        self._aborted = False
        self.proc = ctx.Process(target=worker.main, args=(child, job), daemon=False)
        with _LIVE_LOCK, _main_module_hidden():
            self.proc.start()
            _LIVE.add(self.proc.pid)
        child.close()
        self.conn = parent
        msg = self._receive(min(self.limits.call_timeout_s, remaining), during="importing your module")
        if "error" in msg:
            err = msg["error"]
            if not _valid_error(err):
                out = self.output()
                self.close()
                raise StudentCrash("sent a malformed message while importing", out)
            out = self.output()
            self.close()
            raise StudentImportError(err, out)
        if msg.get("ready") is not True:
            out = self.output()
            self.close()
            raise StudentCrash("sent an unexpected message while importing", out)

    def close(self) -> None:
        """End the student process, its process group and every descendant, and remove its
        working folder. Idempotent."""
        if self.proc is None:
            if self._sandbox:
                shutil.rmtree(self._sandbox, ignore_errors=True)
                self._sandbox = None
            return
        pid = self.proc.pid
        try:
            if self.conn is not None and self.proc.is_alive():
                self.conn.send_bytes(codec.encode({"op": "exit"}))
                self.proc.join(0.2)
        except (OSError, ValueError):
            pass
        kill_tree(pid, self._baseline)
        self.proc.join(1.0)
        with _LIVE_LOCK:
            _LIVE.discard(pid)
        if self.conn is not None:
            self.conn.close()
        self.proc = None
        self.conn = None
        if self._sandbox:
            shutil.rmtree(self._sandbox, ignore_errors=True)
            self._sandbox = None

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
            raise StudentCrash("is not running (it ended earlier)")
        remaining = self.limits.budget_s - self.spent_s
        if remaining <= 0:
            raise StudentCrash(f"used up the exercise's time budget of {self.limits.budget_s:g} s")
        timeout = min(self.limits.call_timeout_s, remaining)
        self._send_bytes(codec.encode({"op": "calls", "calls": calls}), timeout)
        self.calls += len(calls)
        msg = self._receive(timeout, during="the call")
        results = msg.get("results")
        # One result per call, or fewer when the last one is the error the batch stopped at; each
        # shaped as the worker builds it (a student process that patched the worker can still
        # send wrong values, which the checks judge, but never a shape that breaks the grader).
        if not isinstance(results, list) or not 0 < len(results) <= len(calls) \
                or not all(_valid_result(r, bool(c.get("inputs"))) for r, c in zip(results, calls)) \
                or (len(results) < len(calls) and results[-1]["ok"]):
            out = self.output()
            self.close()
            raise StudentCrash("answered with a malformed message", out)
        return results

    def perf(self, request: dict, timeout: float | None = None) -> "PerfSample":
        """Send one performance request (see :mod:`grader.runner.timing`) and observe it from
        outside: the student process's CPU time as the kernel counts it, the time its main
        thread slept, and this process's wall clock, read just before sending and just after the
        answer arrived (each time once the student process has stopped running).

        Returns:
            :class:`PerfSample` ``(answer, cpu_s, wall_s, waits, sleep_s)``: the decoded answer,
            the CPU seconds the student process used meanwhile (all its threads), the wall
            seconds that passed, how many times its main thread blocked (voluntary context
            switches: on a pipe, a lock, a child process, a sleep; -1 where the kernel does not
            say; waiting for the request counts once), and the seconds it spent neither running
            nor waiting for a CPU (``nan`` where the kernel does not say; this includes the
            moments before the request arrived and after the answer left).

        Raises:
            StudentCrash: as :meth:`calls_batch`.
        """
        if not self.alive:
            raise StudentCrash("is not running (it ended earlier)")
        remaining = self.limits.budget_s - self.spent_s
        if remaining <= 0:
            raise StudentCrash(f"used up the exercise's time budget of {self.limits.budget_s:g} s")
        data = codec.encode(request)
        pid = self.proc.pid
        # Read the CPU clock only while the process sleeps (waiting for a request): the kernel
        # brings a process's CPU time up to date when it stops running, whereas a running
        # process with an RLIMIT_CPU timer is only accounted at scheduler ticks.
        wait_until_sleeping(pid)
        cpu0, waits0, sched0 = process_cpu_seconds(pid), main_thread_waits(pid), \
            main_thread_schedstat(pid)
        wall0 = time.perf_counter()
        self._send_bytes(data, min(timeout or self.limits.call_timeout_s, remaining))
        msg = self._receive(min(timeout or self.limits.call_timeout_s, remaining),
                            during="a timing measurement")
        wall = time.perf_counter() - wall0
        wait_until_sleeping(pid)
        cpu, waits1, sched1 = process_cpu_seconds(pid) - cpu0, main_thread_waits(pid), \
            main_thread_schedstat(pid)
        sleep = wall - (sched1[0] - sched0[0]) - (sched1[1] - sched0[1])
        return PerfSample(msg, cpu, wall, waits1 - waits0 if min(waits0, waits1) >= 0 else -1,
                          sleep)

    def signature(self, fn: str) -> list[str] | None:
        """Parameter names of ``fn`` in the student's module (None: no such function).

        Raises:
            StudentCrash: as :meth:`calls_batch`.
        """
        if not self.alive:
            raise StudentCrash("is not running (it ended earlier)")
        self._send_bytes(codec.encode({"op": "signature", "fn": fn}), self.limits.call_timeout_s)
        params = self._receive(self.limits.call_timeout_s, during="inspecting your functions").get("params")
        if params is None:
            return None
        if not isinstance(params, list) or len(params) > 256 \
                or not all(isinstance(p, str) and len(p) < 256 for p in params):
            out = self.output()
            self.close()
            raise StudentCrash("answered with a malformed message", out)
        return params

    def new_rng(self, seed: int) -> codec.Handle:
        """A ``np.random.default_rng(seed)`` created in the student process and kept there; the
        returned handle can be passed to several calls, which then share (and advance) it.

        Raises:
            StudentCrash: as :meth:`calls_batch`.
        """
        if not self.alive:
            raise StudentCrash("is not running (it ended earlier)")
        self._send_bytes(codec.encode({"op": "rng", "seed": int(seed)}), self.limits.call_timeout_s)
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
        # A message has begun: it must arrive whole in the time left (a process that sends a
        # length and then stalls is killed by the watchdog, which ends the read with EOF).
        try:
            with self._watchdog(max(timeout - waited, 0.0) + 1.0):
                data = self.conn.recv_bytes(MAX_MESSAGE_BYTES)
        except (EOFError, OSError) as exc:
            if self._aborted:
                reason = f"stopped in the middle of a message during {during}"
            elif isinstance(exc, OSError) and "bad message length" in str(exc):
                reason = (f"sent a message larger than {MAX_MESSAGE_BYTES // 2**20} MB during "
                          f"{during} (a huge return value?)")
            else:
                reason = f"ended during {during} ({self._exit_code()})"
            self.spent_s += time.monotonic() - t0 - waited
            out = self.output()
            self.close()
            raise StudentCrash(reason, out)
        try:
            msg = codec.decode(data)
        except Exception:  # CodecError; RecursionError or MemoryError on a hostile header
            self.close()
            raise StudentCrash(f"sent a malformed message during {during}", self.output())
        if not isinstance(msg, dict):
            self.close()
            raise StudentCrash(f"sent a malformed message during {during}", self.output())
        self.spent_s += time.monotonic() - t0 - waited
        return msg

    @contextlib.contextmanager
    def _watchdog(self, seconds: float):
        """Kill the student process (ending any blocked read or write on the pipe) if the body
        takes longer than ``seconds``; :attr:`_aborted` tells that it happened."""
        proc, baseline = self.proc, self._baseline

        def fire():
            self._aborted = True
            if proc is not None:
                kill_tree(proc.pid, baseline)

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _send_bytes(self, data: bytes, timeout: float) -> None:
        """Send one message; a student process that closed the pipe or stopped reading is a crash.

        Raises:
            StudentCrash: the pipe is closed, or the message was not taken within ``timeout`` s.
        """
        try:
            with self._watchdog(timeout + 1.0):
                self.conn.send_bytes(data)
        except (OSError, ValueError):
            out = self.output()
            self.close()
            raise StudentCrash("closed its connection to the grader or stopped reading from it",
                               out) from None

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


class PerfSample(NamedTuple):
    """One performance request seen from outside (see :meth:`StudentProcess.perf`)."""

    answer: dict
    cpu_s: float
    wall_s: float
    waits: int
    sleep_s: float


def main_thread_schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of the main thread of ``pid``,
    from ``/proc/<pid>/schedstat``; ``(nan, nan)`` where it cannot be read."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as fh:
            run_ns, wait_ns = fh.read().split()[:2]
        return int(run_ns) / 1e9, int(wait_ns) / 1e9
    except (OSError, ValueError):
        return float("nan"), float("nan")


def main_thread_waits(pid: int) -> int:
    """Voluntary context switches of the main thread of ``pid`` so far (the times it blocked),
    from ``/proc/<pid>/task/<pid>/status``; -1 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/task/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"voluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def wait_until_sleeping(pid: int, limit_s: float = 0.05) -> bool:
    """Wait (at most ``limit_s``) until process ``pid`` is not running on a CPU.

    Reads the state letter of ``/proc/<pid>/stat``; returns True when it is anything but ``R``
    (False on timeout, or where there is no ``/proc``).
    """
    deadline = time.perf_counter() + limit_s
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                state = fh.read().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            return False
        if state != b"R":
            return True
        if time.perf_counter() > deadline:
            return False
        time.sleep(0)


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) the kernel has charged to process ``pid``.

    Read from outside the process, so the process cannot forge it: on Linux through the
    process's CPU-time clock (``clock_gettime`` on ``CPUCLOCK_SCHED`` of ``pid``, nanosecond
    resolution), elsewhere through ``psutil.Process(pid).cpu_times()`` (clock ticks).
    Returns ``nan`` when the process is gone.
    """
    try:
        return time.clock_gettime_ns((~pid << 3) | 2) / 1e9  # MAKE_PROCESS_CPUCLOCK(pid, SCHED)
    except (OSError, AttributeError, OverflowError):
        pass
    try:
        t = psutil.Process(pid).cpu_times()
        return float(t.user + t.system)
    except psutil.Error:
        return float("nan")


def kill_tree(pid: int, baseline: set[int] | frozenset[int] = frozenset(),
              timeout_s: float = 3.0) -> None:
    """SIGKILL the student process ``pid`` and every process its code started, until none is left.

    Ended, scan after scan until a scan finds none alive (or ``timeout_s`` passes):
      * the process group and session of ``pid`` (the worker calls ``setsid``: both are ``pid``);
      * every descendant of ``pid``, whatever session or group it moved to;
      * every process that re-parented to this one (the grader is a child subreaper, so a
        double-forked daemon lands here when its parent dies) and was not already this process's
        child when the student process started (``baseline``), with its descendants;
      * every child of the fork server that is not a live student process (a process a student
        started by talking to the fork server's socket), with its descendants.
    The fork server and the resource tracker are kept. Killed orphans are reaped. A process that
    escaped to another parent (``at``, ``systemd-run``) is out of reach: see docs/security.md.
    """
    me = os.getpid()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        alive = []
        for p in _student_processes(pid, me, baseline):
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    if p.ppid() == me:
                        os.waitpid(p.pid, os.WNOHANG)
                    continue
                p.kill()
                alive.append(p)
            except (psutil.Error, OSError):
                pass
        if not alive or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _student_processes(pid: int, me: int, baseline) -> list:
    """The processes :func:`kill_tree` ends (see there), as ``psutil.Process`` objects."""
    from multiprocessing import resource_tracker
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    keep = {me, server, getattr(resource_tracker._resource_tracker, "_pid", None)}
    found: dict[int, psutil.Process] = {}

    def add(p):
        if p.pid in keep or p.pid in found:
            return
        found[p.pid] = p
        try:
            for c in p.children(recursive=True):
                if c.pid not in keep:
                    found.setdefault(c.pid, c)
        except psutil.Error:
            pass

    try:
        add(psutil.Process(pid))
    except psutil.Error:
        pass
    try:
        mine = psutil.Process(me).children(recursive=True)
    except psutil.Error:
        return list(found.values())
    with _LIVE_LOCK:
        live = set(_LIVE) - {pid}
    for p in mine:
        if p.pid in keep or p.pid in found or p.pid in live:
            continue
        try:
            ppid = p.ppid()
            if (ppid == me and p.pid not in baseline) or (ppid == server and p.pid not in live) \
                    or os.getsid(p.pid) == pid or os.getpgid(p.pid) == pid:
                add(p)
        except (psutil.Error, OSError):
            pass
    return list(found.values())


def _children_pids() -> set[int]:
    """pids of this process's children now (the baseline :func:`kill_tree` compares with)."""
    try:
        return {p.pid for p in psutil.Process().children()}
    except psutil.Error:
        return set()


def _str_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _valid_error(error) -> bool:
    """Whether ``error`` has the shape of the worker's exception data (type, message, traceback:
    str; line: int or None)."""
    return isinstance(error, dict) \
        and all(isinstance(error.get(k, ""), str) for k in ("type", "message", "traceback")) \
        and (error.get("line") is None or isinstance(error.get("line"), int))


def _valid_result(r, inputs: bool) -> bool:
    """Whether ``r`` has the shape of one call's result as the worker builds it (its values are
    for the checks to judge): ``ok`` a bool; on success a ``value``, ``warnings`` and
    ``global_rng_changed`` lists of str and, when asked for, ``inputs`` as ``(args, kwargs)``;
    on failure an ``error`` (see :func:`_valid_error`); ``forbidden`` a list of str."""
    if not isinstance(r, dict) or not isinstance(r.get("ok"), bool):
        return False
    if not _str_list(r.get("forbidden", [])):
        return False
    if not r["ok"]:
        return _valid_error(r.get("error", {}))
    if "value" not in r or not _str_list(r.get("warnings", [])) \
            or not _str_list(r.get("global_rng_changed", [])):
        return False
    if inputs:
        got = r.get("inputs")
        return isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], list) \
            and isinstance(got[1], dict)
    return True
