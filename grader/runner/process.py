"""Starting and talking to student processes (grader side).

Student processes are forked from the fork server of :mod:`grader.runner.server` (numpy, and
torch for torch exercises, already imported). Every student process runs in its own session and
process group under the :class:`Limits` (:mod:`grader.runner.limits`), in the sandbox of
:mod:`grader.runner.sandbox`; :meth:`StudentProcess.close` ends it and anything it left
(:func:`grader.runner.cleanup.kill_tree`).
"""
from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import tempfile
import time
from typing import NamedTuple

import psutil

from grader.runner import codec, confine
from grader.runner.channel import (Channel, SandboxError, StudentCrash, StudentImportError,  # noqa: F401
                                   _valid_error, _valid_result)
from grader.runner.cleanup import _LIVE, _LIVE_LOCK, _children_pids, kill_tree
from grader.runner.limits import (Limits, _concealed_dirs, _hidden_dirs, resolve_run_as,  # noqa: F401
                                  student_identity)
from grader.runner.server import _end_fork_server, _main_module_hidden, _started, warm_up  # noqa: F401


class StudentProcess(Channel):
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
        if self.limits.confine_writes and not confine.landlock_abi():
            raise SandboxError(confine.NO_LANDLOCK)
        try:
            run_as = student_identity(self.limits, self.backend)
        except OSError as exc:
            raise SandboxError(f"no identity for the student process: {exc}") from None
        warm_up({self.backend})
        ctx = multiprocessing.get_context("forkserver")
        parent, child = ctx.Pipe(duplex=True)
        from grader.runner import worker
        self._sandbox = tempfile.mkdtemp(prefix="dlgrade-cwd-")
        job = {"path": self.path, "backend": self.backend, "device": self.device,
               "blocked": list(self.blocked), "forbidden_ops": list(self.forbidden_ops),
               "output": self.output_path, "threads": 1, "cwd": self._sandbox,
               "confine_writes": self.limits.confine_writes,
               "writable_extra": [str(p) for p in self.limits.writable_extra],
               "run_as": list(run_as) if run_as else None, "hidden": _hidden_dirs(self.path),
               "conceal": _concealed_dirs(self.path) if run_as else [],
               "limits": {"memory_bytes": self.limits.memory_bytes,
                          "file_bytes": self.limits.file_bytes,
                          "cpu_seconds": self.limits.cpu_seconds}}
        self._baseline = _children_pids()
        self._aborted = False
        self.proc = ctx.Process(target=worker.main, args=(child, job), daemon=False)
        with _LIVE_LOCK, _main_module_hidden():
            self.proc.start()
            _LIVE.add(self.proc.pid)
        child.close()
        self.conn = parent
        msg = self._receive(min(self.limits.call_timeout_s, remaining), during="importing your module")
        if "sandbox" in msg:
            self.close()
            raise SandboxError(str(msg["sandbox"])[:2000])
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

    def perf(self, request: dict, timeout: float | None = None, observe: bool = True,
             since: "PerfSample | None" = None) -> "PerfSample":
        """Send one performance request (see :mod:`grader.runner.timing`) and observe it from
        outside: the student process's CPU time as the kernel counts it, the time its main
        thread slept, and this process's wall clock, read just before sending and just after the
        answer arrived (each time once the student process has stopped running). With
        ``observe=False`` (a request whose time is not judged: returning outputs) only the wall
        clock is read, and ``cpu_s`` and ``sleep_s`` are ``nan``. With ``since`` (the sample of
        the request just before), ``cpu_s`` counts from the end of that one, so whatever the
        process ran between the two requests (a timer of its own waking it) is charged too.

        Returns:
            :class:`PerfSample` ``(answer, cpu_s, wall_s, waits, sleep_s, cpu_end)``: the decoded
            answer, the CPU seconds the student process used meanwhile (all its threads), the wall
            seconds that passed, how many times its main thread blocked (voluntary context
            switches: on a pipe, a lock, a child process, a sleep; -1 where the kernel does not
            say; waiting for the request counts once), and the seconds it spent neither running
            nor waiting for a CPU (``nan`` where the kernel does not say; this includes the
            moments before the request arrived and after the answer left), and the process's
            kernel CPU seconds when the window ended (for a later request's ``since``).

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
        if not observe:
            wall0 = time.perf_counter()
            self._send_bytes(data, min(timeout or self.limits.call_timeout_s, remaining))
            msg = self._receive(min(timeout or self.limits.call_timeout_s, remaining),
                                during="a timing measurement")
            return PerfSample(msg, math.nan, time.perf_counter() - wall0, -1, math.nan, math.nan)
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
        cpu_end, waits1, sched1 = process_cpu_seconds(pid), main_thread_waits(pid), \
            main_thread_schedstat(pid)
        if since is not None and math.isfinite(since.cpu_end):
            cpu0 = min(cpu0, since.cpu_end)
        sleep = wall - (sched1[0] - sched0[0]) - (sched1[1] - sched0[1])
        return PerfSample(msg, cpu_end - cpu0, wall,
                          waits1 - waits0 if min(waits0, waits1) >= 0 else -1, sleep, cpu_end)

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
class PerfSample(NamedTuple):
    """One performance request seen from outside (see :meth:`StudentProcess.perf`)."""

    answer: dict
    cpu_s: float
    wall_s: float
    waits: int
    sleep_s: float
    cpu_end: float = math.nan  #: the process's kernel CPU seconds when the window ended


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
