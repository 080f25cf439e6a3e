"""Ending a student process and everything it started (grader side).

The grader is a child subreaper (:func:`become_subreaper`), so an orphan of the student - a
double-forked daemon - re-parents to it and can be found; :func:`kill_tree` ends the student
process's group, its descendants, such orphans and stray children of the fork server, scan after
scan until none is left. (Since the student process can start no thread or process at all,
docs/security.md class 4, this is the second line of defence.)
"""
from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import threading
import time

import psutil

#: pids of the student processes open now (any thread); other children of the fork server are
#: processes a student started through its socket, and are killed with the next clean-up.
_LIVE: set[int] = set()
_LIVE_LOCK = threading.Lock()


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

