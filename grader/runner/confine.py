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
