"""The student process's sandbox (worker side): limits, scratch folder, user switch, no threads.

Runs inside the student process, before the student's file is executed, in this order (see
:func:`grader.runner.worker.main`): :func:`apply_limits`, :func:`redirect_output`, the preloads
(torch with one thread, CUDA, the timers), :func:`enter` (scratch folder, environment,
``no_new_privs``, Landlock, user switch, parent-death signal), then :func:`forbid_threads`, after
which the kernel refuses every new thread or process of this one. See docs/security.md.
"""
from __future__ import annotations

import os
import resource
import signal
import sys

from grader.runner import confine


class SandboxFailure(Exception):
    """A part of the sandbox could not be set up; no student code may run. ``str()`` is the
    one-line, student-facing reason the grader reports on every check of the exercise."""


def apply_limits(limits: dict) -> None:
    """Own session and process group, address-space, file-size and CPU limits (Linux).

    ``limits``: ``memory_bytes`` (added to the address space in use now), ``file_bytes``,
    ``cpu_seconds``. Processes and threads are refused later, by :func:`forbid_threads`.
    """
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


def redirect_output(path: str) -> None:
    """Send the student's stdout/stderr (fd 1 and 2) to ``path``, so it cannot reach the report."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


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


def enter(job: dict) -> None:
    """Last steps before the student's code runs (in this order):

    * close the fork server's and resource tracker's pipes the child inherited (the student has
      no use for them; the open fork-server pipe would keep the server alive if the grader died);
    * move to the fresh working directory ``job["cwd"]`` (HOME and TMPDIR point there too), so
      files written to relative paths (a forged ``results.json``) land where nobody reads them,
      and reduce the environment to the grader's allow-list (:mod:`grader.runner.confine`);
    * ``no_new_privs``: setuid programs (sudo, su) grant no privileges to this process tree;
    * when ``job["run_as"]`` is ``[uid, gid]`` and this is root: keep the import path usable
      (:func:`_keep_imports_reachable`) and cover ``job["conceal"]`` (:func:`_conceal`; before
      Landlock, which forbids mounts);
    * with ``job["confine_writes"]``: Landlock, so that the file system can be changed only
      beneath ``job["cwd"]`` and ``job["writable_extra"]`` (:func:`confine.confine_writes`);
    * then drop to ``run_as`` for good (groups, real, effective and saved ids), so the student
      can signal, trace or write nothing that belongs to the grader;
    * parent-death signal: if the fork server ends (it does when the grader dies), so does this.

    Raises:
        SandboxFailure: Landlock is asked for but the kernel has none or refuses it, or the
            switch of user failed (student code never runs unconfined or as root then).
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
    run_as = job.get("run_as")
    drop = bool(run_as) and os.geteuid() == 0
    if drop:
        _keep_imports_reachable()
        _conceal(job.get("conceal", ()))
    if cwd and job.get("confine_writes"):
        try:  # writes only beneath the scratch folder (and /dev/null) from here on
            abi = confine.confine_writes([cwd, *job.get("writable_extra", ())])
        except OSError as exc:
            raise SandboxFailure(f"{confine.NO_LANDLOCK} (Landlock refused: {exc})") from None
        if abi < 1:
            raise SandboxFailure(confine.NO_LANDLOCK)
    if drop:
        uid, gid = int(run_as[0]), int(run_as[1])
        try:
            if cwd:
                os.chown(cwd, uid, gid)
                os.chmod(cwd, 0o700)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        except OSError as exc:
            raise SandboxFailure(f"dlgrade could not switch the student process to uid {uid}: "
                                 f"{exc}") from None
        if 0 in os.getresuid() or 0 in os.getresgid():
            raise SandboxFailure(f"dlgrade could not switch the student process to uid {uid}")
    if libc is not None:
        parent = os.getppid()
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG (after the user switch)
        if os.getppid() != parent:
            os._exit(70)  # the grader is gone already: nobody to report to


# libseccomp's constants (seccomp.h): the default action, an errno action, the thread-sync attribute.
_SCMP_ACT_ALLOW, _SCMP_ACT_ERRNO, _SCMP_FLTATR_CTL_TSYNC = 0x7FFF0000, 0x00050000, 4
#: Every system call that creates a task (a thread or a process).
_CLONE_CALLS = (b"clone", b"clone3", b"fork", b"vfork")
#: The one line reported when neither the kernel's process limit nor seccomp holds.
NO_THREAD_BAN = ("dlgrade cannot stop the student process from starting threads or processes "
                 "here (it runs as root, and seccomp is unavailable: no libseccomp.so.2 or the "
                 "kernel refuses filters); grade as root with [limits] run_as set to a user, or "
                 "as a non-root user (docs/security.md, class 4)")


def _seccomp_refuse_clone() -> bool:
    """Install a seccomp filter (through libseccomp, the kernel's maintained user-space library)
    under which every ``clone``, ``clone3``, ``fork`` and ``vfork`` of this process - all its
    threads (TSYNC) - fails with EAGAIN, as the kernel's own process limit answers. Needs
    ``no_new_privs`` (set by :func:`enter`). Returns whether the filter is loaded."""
    import ctypes
    import errno
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        return False
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        return False
    try:
        ok = lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_TSYNC, 1) == 0
        for name in _CLONE_CALLS:
            nr = lib.seccomp_syscall_resolve_name(name)
            if nr >= 0:  # a call this architecture lacks (fork on aarch64) needs no rule
                ok &= lib.seccomp_rule_add(ctx, _SCMP_ACT_ERRNO | errno.EAGAIN, nr, 0) == 0
        return bool(ok) and lib.seccomp_load(ctx) == 0
    finally:
        lib.seccomp_release(ctx)


def _can_start_a_task() -> bool:
    """Whether this process can still start a thread or a child process (each, if started,
    ends at once)."""
    import _thread
    try:
        _thread.start_new_thread(lambda: None, ())
        return True
    except RuntimeError:
        pass
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return True


def forbid_threads() -> None:
    """From now on the kernel refuses every new thread and process of this one (issue 11,
    class 4): ``threading``, ``concurrent.futures``, ``asyncio.to_thread``, ``multiprocessing``,
    ``os.fork``, ``subprocess``, a native ``pthread_create`` through ctypes all fail, so the
    forbidden-operator guard, the autograd ban and the op counter (which watch the main thread)
    see all work. Two layers: ``RLIMIT_NPROC = 0`` (the kernel counts the tasks of the real uid;
    not enforced for root or a holder of CAP_SYS_RESOURCE) and a seccomp filter on the clone
    calls (:func:`_seccomp_refuse_clone`). Then it tries to start a thread and a process.

    Call last, after every preload (torch with one thread, CUDA, autograd's device threads).

    Raises:
        SandboxFailure: a thread or process could still be started (:data:`NO_THREAD_BAN`).
    """
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (ValueError, OSError):
        pass
    _seccomp_refuse_clone()
    if _can_start_a_task():
        raise SandboxFailure(NO_THREAD_BAN)
