"""The ``dlgrade`` console script: starts the fork server before the command line loads.

``dlgrade check exNN`` used to wait ~0.15 s for the fork server its student processes are forked
from (a fresh interpreter importing numpy and the runner, :mod:`grader.runner.server`), after
~0.2 s of importing the command line (click, rich, numpy). Started first, the server boots on
the other core meanwhile. Nothing else happens here: :func:`grader.cli.main` does the rest.
"""
from __future__ import annotations

import os
import sys

#: Thread pools of BLAS/OpenMP libraries, held to one thread for timing and stability.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def one_thread_per_pool() -> None:
    """Set every :data:`THREAD_VARIABLES` not set yet to 1: call before numpy or torch is
    imported anywhere (student processes inherit it through the fork server)."""
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, "1")


def main() -> None:
    """Entry point of ``dlgrade``. For ``dlgrade check`` of named exercises it starts the fork
    server with numpy preloaded (a torch exercise's grading replaces it with one that has torch,
    as for any later torch exercise), then runs :func:`grader.cli.main`, which always exits."""
    one_thread_per_pool()
    args = sys.argv[1:]
    if args[:1] == ["check"] and not {"--all", "-h", "--help"} & set(args):
        from grader.runner.server import warm_up
        warm_up({"numpy"})
    from grader.cli import main as cli_main
    cli_main()
