"""Which course configuration a run grades with: never one inside the graded submission.

Points, limits and checks never come from the submission being graded: a configuration file
inside the *submission* - the ``--path`` folder (the folder of a ``--path`` file) or, when that
folder lies in a git work tree, the whole work tree (a student's repository, as CI checks it
out) - is ignored for grading, with a one-line notice. In order, the first that exists is used:

1. ``--config FILE`` (``dlgrade check``, ``list``), else the file named by the environment variable
   ``DLGRADE_CONFIG`` (:data:`ENV_VAR`); an error (exit 2) if that file lies in the ``--path``
   folder itself;
2. the course configuration packaged with the grader (``grader/course/dlgrade.toml``, written into
   the wheel ``dlgrade release`` vendors into a student starter repository): a student's CI and a
   student's machine grade with the course's own configuration;
3. the working directory's ``dlgrade.toml``, else its ``pyproject.toml`` with ``[tool.dlgrade]``,
   *when that file is not inside the submission*: an instructor grading ``--path
   submissions/alice`` from the course folder uses the course's file; a student running
   ``dlgrade check`` in their own repository (or CI running it there) does not use the
   repository's file, and is told so;
4. otherwise the built-in points and limits.

The student's workflow stays plain: ``dlgrade check`` prints which configuration file it used
and any it ignored (:meth:`Found.notice`); no such line means the built-in points and limits.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader import config
from grader.config import ConfigError, _has_tool_table

#: Environment variable naming the course configuration file (like ``--config``).
ENV_VAR = "DLGRADE_CONFIG"


@dataclass(frozen=True)
class Found:
    """Which course configuration a run uses, and why.

    Attributes:
        file: the file to :func:`load`, or None (the built-in points and limits).
        origin: ``"--config"``, ``"$DLGRADE_CONFIG"``, ``"packaged"``, ``"working directory"`` or
            ``"built-in"``.
        ignored: configuration files found inside the graded submission and not used.
    """

    file: Path | None
    origin: str
    ignored: tuple = ()

    def notice(self) -> str:
        """One line for the terminal: the configuration used, and any that was ignored."""
        origin = "the course configuration packaged with dlgrade" if self.origin == "packaged" \
            else self.origin
        used = "built-in points and limits" if self.file is None else f"{self.file} ({origin})"
        line = f"configuration: {used}"
        if self.ignored:
            names = ", ".join(str(p) for p in self.ignored)
            line += (f"; ignored {names}: inside the graded submission, which cannot set its own "
                     f"points, limits or checks (give the course's file with --config or "
                     f"${ENV_VAR})")
        return line


def submission_root(path: str | os.PathLike, repository: bool = True) -> Path:
    """The folder whose content the submission's author controls (absolute, symlinks resolved).

    Args:
        path: the graded ``--path`` (a folder, or a file: then its folder).
        repository: extend the folder to the top of the git work tree holding it (the first
            ancestor with a ``.git`` entry, a folder or a worktree's file), if any.
    """
    p = Path(path).resolve()
    folder = p if p.is_dir() else p.parent
    if repository:
        for candidate in (folder, *folder.parents):
            if (candidate / ".git").exists():
                return candidate
    return folder


def _within(file: Path, folder: Path) -> bool:
    """Whether ``file`` sits in ``folder`` or below it, judged by where the file's entry is (a
    symbolic link inside the submission that points outside it is still the submission's)."""
    where = file.parent.resolve()
    return where == folder or folder in where.parents


def _candidate(folder: Path) -> Path | None:
    if (folder / "dlgrade.toml").is_file():
        return folder / "dlgrade.toml"
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and _has_tool_table(pyproject):
        return pyproject
    return None


def _ignored_candidate(folder: Path) -> Path | None:
    """:func:`_candidate` for a folder of the submission: only named in the notice, so a file the
    student controls is never parsed beyond 1 MiB and never stops the run (a broken
    ``pyproject.toml`` is just a project's own business)."""
    if (folder / "dlgrade.toml").is_file():
        return folder / "dlgrade.toml"
    pyproject = folder / "pyproject.toml"
    try:
        if pyproject.is_file() and pyproject.stat().st_size <= 2**20 and \
                _has_tool_table(pyproject):
            return pyproject
    except (ConfigError, OSError, RecursionError, ValueError):
        pass
    return None


def discover(path: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None,
             explicit: str | os.PathLike | None = None, environ: dict | None = None,
             repository: bool = True) -> Found:
    """The course configuration to grade ``path`` with (see the module docstring for the rule).

    Args:
        path: the graded submission (``--path``); None: no submission is graded here (the
            working directory's file is then used as is).
        cwd: the working directory (default: the process's).
        explicit: ``--config FILE``. environ: the environment (default ``os.environ``), for
            :data:`ENV_VAR`.
        repository: the submission extends to its git work tree (see :func:`submission_root`);
            ``grade-batch`` passes False (each student owns only their own folder).

    Raises:
        ConfigError: the explicit file does not exist or lies in the graded folder itself.
    """
    here = Path(cwd) if cwd is not None else Path.cwd()
    env = os.environ if environ is None else environ
    chosen = explicit or env.get(ENV_VAR) or None
    root = submission_root(path, repository) if path is not None else None
    folder = submission_root(path, False) if path is not None else None
    if chosen:
        origin = "--config" if explicit else f"${ENV_VAR}"
        file = Path(chosen)
        if not file.is_file():
            raise ConfigError(f"{origin} {chosen}: no such file")
        if folder is not None and _within(file, folder):
            raise ConfigError(f"{origin} {chosen}: the file is inside the graded folder "
                              f"{folder}; a submission cannot configure its own grading")
        return Found(file, origin)
    ignored = []
    for place in dict.fromkeys(p for p in (here.resolve(), folder) if p is not None):
        if root is not None and (place == root or root in place.parents):
            found = _ignored_candidate(place)
            if found is not None:
                ignored.append(found)
    if config.PACKAGED.is_file():
        return Found(config.PACKAGED, "packaged", tuple(ignored))
    inside = root is not None and _within(here / "dlgrade.toml", root)
    found = None if inside else _candidate(here)
    if found is not None:
        return Found(found, "working directory", tuple(ignored))
    return Found(None, "built-in", tuple(ignored))
