"""The pipe between the grader and one student process: framed messages under time limits.

:class:`Channel` is the transport half of :class:`grader.runner.process.StudentProcess`: it
sends a request, waits (at most the time left) for one answer, kills the student process when a
message starts but never ends or a write is not taken, and turns every failure - death, silence,
oversize or undecodable data - into a :class:`StudentCrash`. The ``_valid_*`` functions judge the
shape of what the worker answers (the values are for the checks to judge).
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

from grader.runner import codec
from grader.runner.cleanup import kill_tree

#: Largest message accepted from a student process, in bytes.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: How much of the student's stdout/stderr is kept for the report, in bytes.
OUTPUT_KEEP_BYTES = 4096


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


class SandboxError(StudentCrash):
    """The student process could not be confined as :class:`Limits` asks (no Landlock, threads
    that cannot be refused, a failed user switch, no free uid); no student code ran. ``reason``
    is the one line every check of the exercise reports."""


class _Watchdog:
    """One daemon thread that calls each armed function once its deadline passes, unless it was
    disarmed first (a thread per deadline costs ~0.15 ms to start, twice per request)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, object]] = {}
        self._next = 0
        self._owner = None  # the pid whose thread runs (a forked child starts its own)

    def arm(self, seconds: float, fire) -> int:
        """Call ``fire()`` in ``seconds`` s (monotonic clock); returns the token to disarm it."""
        with self._cond:
            if self._owner != os.getpid():
                self._owner = os.getpid()
                self._armed.clear()
                threading.Thread(target=self._run, name="dlgrade-watchdog", daemon=True).start()
            self._next += 1
            self._armed[self._next] = (time.monotonic() + seconds, fire)
            self._cond.notify()
            return self._next

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [t for t, (when, _) in self._armed.items() if when <= now]
                fires = [self._armed.pop(t)[1] for t in due]
                if not fires:
                    soonest = min((when for when, _ in self._armed.values()), default=None)
                    self._cond.wait(None if soonest is None else soonest - now)
                    continue
            for fire in fires:
                try:
                    fire()
                except Exception:  # noqa: BLE001 - a failed kill must not stop the others
                    pass


_WATCHDOG = _Watchdog()


class Channel:
    """Message transport of a student process. Expects the attributes ``proc`` (the
    ``multiprocessing`` Process), ``conn`` (its Connection), ``spent_s`` (seconds of the
    exercise's budget used), ``output_path``, ``_baseline``, ``_aborted`` and a ``close()``."""


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

        token = _WATCHDOG.arm(seconds, fire)
        try:
            yield
        finally:
            _WATCHDOG.disarm(token)

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
