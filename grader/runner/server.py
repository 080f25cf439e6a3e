"""The ``multiprocessing`` fork server every student process is forked from (grader side).

It is started (a fresh interpreter, numpy - and torch for torch exercises - and the runner
preloaded) before the grader computes any input or oracle, with the environment built by
:mod:`grader.runner.confine`, so no input, oracle or secret of the grader is in its memory for a
child to find; each exercise then pays for ``fork`` rather than for ``import torch``.
"""
from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import types

from grader.runner import confine
from grader.runner.cleanup import _LIVE, _LIVE_LOCK, become_subreaper

#: Preload lists of the fork servers started by this process (the running one's among them).
_started: set[tuple[str, ...]] = set()


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

