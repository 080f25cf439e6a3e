"""What a student process may use: its :class:`Limits`, the user it runs as, what it may not see.

Under root every grading process (a ``dlgrade check``, a ``grade-batch`` worker, the pytest
plugin) leases one uid of :attr:`Limits.uid_range` for its lifetime (:func:`lease_uid`), so two
students graded at the same time never share an identity: neither can signal, trace, slow down
or read the other's processes and files (docs/security.md, class 2).
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import signal
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """Resource limits and identity of one student process.

    Attributes:
        call_timeout_s: wall-clock seconds one batch of calls may take.
        budget_s: wall-clock seconds all calls of one exercise may take together.
        memory_bytes: address space the student may add on top of the warm process (RLIMIT_AS).
        file_bytes: largest file the student process may write, its captured output included
            (RLIMIT_FSIZE).
        cpu_seconds: CPU seconds for the whole process (RLIMIT_CPU).
        run_as: when dlgrade runs as root and :attr:`uid_range` is empty, the user the student's
            code runs as (privileges are dropped in the student process before its file is
            loaded). ``""`` keeps root (then nothing isolates students from each other or from
            the grader). Used only if numpy (torch) and the runner are readable by any user;
            otherwise a warning says student code runs as root. See docs/security.md.
        uid_range: ``(first, last)``, inclusive: under root (and ``run_as`` not ``""``), the
            grading process leases one of these uids for its lifetime and its student processes
            run as it (gid the same number; no passwd entry needed; uids that have one are
            skipped). ``()``: every student runs as ``run_as``.
        confine_writes: let the student process change the file system only beneath its
            scratch folder (Landlock, Linux >= 5.13, :func:`grader.runner.confine.confine_writes`).
            Where the kernel has no Landlock every check of the exercise is an ``error`` saying
            so, unless a course sets ``[limits] confine_writes = false`` (docs/security.md, class 1).
        writable_extra: folders the student process may also change under ``confine_writes``.
            For tests that observe an attack through files (the hostile suite); a course has no
            reason to set it (not a ``dlgrade.toml`` key).

    Threads and processes are not a limit: the student process can start none (class 4,
    :func:`grader.runner.sandbox.forbid_threads`).
    The import of the module counts against ``budget_s`` (restarts after a crash too), so one
    exercise takes at most about ``budget_s`` plus a few seconds of clean-up, whatever it does.
    """

    call_timeout_s: float = 20.0
    budget_s: float = 90.0
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 1024**2
    cpu_seconds: int = 120
    run_as: str = "nobody"
    uid_range: tuple = (60000, 60999)
    confine_writes: bool = True
    writable_extra: tuple = ()


_RUN_AS: dict[tuple[str, str], tuple[int, int] | None] = {}
#: This process's uid lease: (pid that took it, uid, the locked file's descriptor).
_LEASE: tuple[int, int, int] | None = None


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
    (see ``sandbox._keep_imports_reachable``). Otherwise None, with a warning (student code then
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
        unreadable = _unreadable_for_others(backend)
        if pw.pw_uid == 0:
            why = f"'{user}' is root"
        elif unreadable:
            why = f"'{user}' cannot read {unreadable}"
        else:
            result = (pw.pw_uid, pw.pw_gid)
    if result is None:
        warnings.warn(f"dlgrade: student code runs as root because {why} (set Limits.run_as, "
                      "or make the Python installation readable by that user)", RuntimeWarning,
                      stacklevel=2)
    _RUN_AS[key] = result
    return result


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


def student_identity(limits: Limits, backend: str) -> tuple[int, int] | None:
    """``(uid, gid)`` the student processes of this grading process run as, or None to keep
    this process's user (not root, or ``run_as = ""``).

    Under root: a uid leased from ``limits.uid_range`` (:func:`lease_uid`) when the range is
    set, otherwise :func:`resolve_run_as` of ``limits.run_as``. Either needs numpy (torch) and
    the runner readable by any user (else a warning, and student code runs as root).

    Raises:
        OSError: the range is exhausted or the lease folder is unsafe (see :func:`lease_uid`).
    """
    if not limits.run_as or os.geteuid() != 0:
        return None
    if not limits.uid_range:
        return resolve_run_as(limits.run_as, backend)
    unreadable = _unreadable_for_others(backend)
    if unreadable:
        warnings.warn(f"dlgrade: student code runs as root because other users cannot read "
                      f"{unreadable} (make the Python installation readable)", RuntimeWarning,
                      stacklevel=2)
        return None
    uid = lease_uid(*limits.uid_range)
    return uid, uid


def _unreadable_for_others(backend: str) -> str:
    """The first folder of the runner, numpy (torch) that other users cannot read, or ""."""
    needed = [str(Path(__file__).resolve().parent)]
    for mod in ("numpy",) + (("torch",) if backend == "torch" else ()):
        spec = importlib.util.find_spec(mod)
        if spec is not None and spec.origin:
            needed.append(os.path.dirname(spec.origin))
    return next((d for d in needed if not _world_readable(d)), "")


def lease_folder() -> str:
    """The root-owned folder of the uid leases: ``/run/dlgrade-uids`` (``$TMPDIR`` or ``/tmp``
    where ``/run`` is not writable), created mode 0700.

    Raises:
        OSError: it exists but is not a folder owned by root that only root may change.
    """
    base = "/run" if os.access("/run", os.W_OK) else tempfile.gettempdir()
    folder = os.path.join(base, "dlgrade-uids")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        raise OSError(f"{folder} is not a folder owned by root that only root may change")
    return folder


def lease_uid(first: int, last: int) -> int:
    """Lease a uid in ``[first, last]`` for the rest of this process's life and return it.

    Each uid has a lock file in :func:`lease_folder`; a lease is an exclusive ``fcntl.flock`` on
    it, which the kernel releases when this process ends however it ends, so a lease of a dead
    grader is free again (its processes, if any escaped the clean-up, are killed on reuse). Uids
    with a passwd entry are skipped (they belong to real accounts). A child process that
    inherited the descriptor (a forked batch worker) takes a lease of its own.

    Raises:
        OSError: every uid of the range is leased, or the folder is unsafe.
    """
    global _LEASE
    if _LEASE is not None and _LEASE[0] == os.getpid():
        return _LEASE[1]
    folder = lease_folder()
    for uid in range(int(first), int(last) + 1):
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        fd = os.open(os.path.join(folder, f"{uid}.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _kill_processes_of(uid)
        _LEASE = (os.getpid(), uid, fd)
        return uid
    raise OSError(f"every uid of the range {first}-{last} is leased by another grading process "
                  "(widen [limits] uid_range)")


def _kill_processes_of(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` (left over by an earlier lease holder).
    Read from ``/proc/<pid>/status``: a student process is not dumpable, so its ``/proc`` folder
    belongs to root whatever its uid."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as fh:
                line = next((ln for ln in fh if ln.startswith(b"Uid:")), b"")
            if line and int(line.split()[1]) == uid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue
