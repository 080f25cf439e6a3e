"""What a student process may see of its surroundings: the environment the grader builds for it.

Nothing of the grader's environment reaches student code except an allow-list: no CI variables
(``GITHUB_*``, ``CI_*``, ``RUNNER_*``: ``$GITHUB_ENV`` names a file a later CI step reads), no
tokens, no ``PYTHONPATH`` or ``VIRTUAL_ENV``. The fork server is started with this environment
(:func:`fork_server_environment`), so even ``/proc/self/environ`` of a student process (the
block the fork server was executed with) holds nothing else; each student process then points
``HOME`` and ``TMPDIR`` at its own scratch folder (:func:`enter_scratch`). See docs/security.md,
class 1.
"""
from __future__ import annotations

import contextlib
import os

#: Variables passed through from the grader's environment, when set (exact names).
PASSED = ("PATH", "LANG", "LANGUAGE", "TZ", "CUDA_VISIBLE_DEVICES")
#: Thread-count variables: the grader sets each to this value for student processes (one BLAS /
#: OpenMP thread, for timing stability).
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Fixed settings: no user site-packages (``~/.local/.../*.pth``), no ``__pycache__`` writes.
FIXED = {"PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def fork_server_environment(grader_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the fork server (and so every student process) starts with.

    Args:
        grader_env: the grader's environment (default ``os.environ``).

    Returns:
        ``PATH``, ``LANG``, ``LANGUAGE``, ``TZ``, ``CUDA_VISIBLE_DEVICES`` and ``LC_*`` copied when set, the thread-count
        variables set to ``"1"``, ``PYTHONNOUSERSITE=1`` and ``PYTHONDONTWRITEBYTECODE=1``;
        nothing else. ``HOME`` and ``TMPDIR`` are set per student process by
        :func:`enter_scratch`.
    """
    src = os.environ if grader_env is None else grader_env
    env = {k: v for k, v in src.items() if k in PASSED or k.startswith("LC_")}
    env.update({k: "1" for k in THREAD_VARS})
    env.update(FIXED)
    return env


def enter_scratch(scratch: str) -> None:
    """In the student process: make ``scratch`` (a fresh folder the grader removes afterwards)
    the working directory, ``HOME`` and ``TMPDIR``, and reduce ``os.environ`` to
    :func:`fork_server_environment` of itself plus those two (a fork server started before a
    grader's environment was cleaned leaks nothing either)."""
    os.chdir(scratch)
    env = fork_server_environment(dict(os.environ))
    os.environ.clear()  # unsetenv for each: the C environment of the process is cleared too
    os.environ.update(env)
    os.environ["HOME"] = os.environ["TMPDIR"] = scratch


@contextlib.contextmanager
def grader_environment_swapped():
    """While the body runs, this process's environment is :func:`fork_server_environment`;
    ``multiprocessing`` starts the fork server with the environment current then. The grader's
    own is restored afterwards. Hold the runner's lock: other threads see the swap too."""
    saved = dict(os.environ)
    clean = fork_server_environment(saved)
    os.environ.clear()
    os.environ.update(clean)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# Landlock (Linux >= 5.13): x86_64/aarch64 syscall numbers and the file-system access rights.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_WRITE_FILE, _TRUNCATE = 1 << 1, 1 << 14
#: Scopes (ABI 6, Linux 6.12): no signal to, no abstract-socket connection with, a process outside
#: the student process's own Landlock domain (the grader, the fork server, another student).
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
#: Rights that change the file system, by Landlock ABI version (1: 5.13, 2: REFER, 3: TRUNCATE).
_WRITE_RIGHTS = {1: 0b1_1111_1111_0010, 2: 0b11_1111_1111_0010, 3: 0b111_1111_1111_0010}


#: The one line every check of an exercise reports where writes cannot be confined.
NO_LANDLOCK = ("writes cannot be confined: this kernel has no Landlock (Linux >= 5.13 with "
               "landlock among its security modules), so dlgrade does not run student code; a "
               "course that accepts unconfined writes sets `[limits] confine_writes = false` in "
               "dlgrade.toml (docs/security.md, class 1)")


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (1: Linux 5.13, ...), 0 where it has none
    (older kernel, Landlock not enabled, not Linux)."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux
        return 0
    libc.syscall.restype = ctypes.c_long
    return max(0, int(libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))))


def confine_writes(writable: list[str]) -> int:
    """Allow this process (and its children, for good) to change the file system only beneath
    the folders ``writable`` and to write ``/dev/null``, through Landlock; reading stays allowed.
    Files opened before (the captured output) stay writable. Call after ``no_new_privs``.
    Landlock also keeps the process from tracing (``ptrace``, ``/proc/<pid>/mem``) any process
    outside its domain and, from ABI 6 on, from signalling one or connecting to its abstract
    UNIX sockets: the grader, the fork server and other students are out of reach even under
    the same uid.

    Returns:
        the Landlock ABI version used (>= 1), or 0 where the kernel has no Landlock (nothing is
        restricted then: the caller decides; see docs/security.md, class 1).
    Raises:
        OSError: Landlock exists but refused a rule (the caller must not run student code).
    Source: the kernel's Documentation/userspace-api/landlock.rst (ruleset, path_beneath rule).
    """
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return 0
    handled = _WRITE_RIGHTS[min(abi, 3)]
    # struct landlock_ruleset_attr: handled_access_fs, handled_access_net (ABI 4), scoped (ABI 6).
    attr = (ctypes.c_uint64 * 3)(handled, 0, _SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX if abi >= 6 else 0)
    size = 24 if abi >= 6 else 8
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    try:
        rules = [(p, handled) for p in writable] + [("/dev/null", _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0))]
        for path, rights in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = PathBeneath(rights, fd)
                if libc.syscall(_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi
