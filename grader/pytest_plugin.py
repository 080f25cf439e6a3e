"""pytest front end: dlgrade's checks as pytest items (``pytest --dlgrade ex04``).

Registered through the ``pytest11`` entry point, so in any environment where dlgrade is installed
``pytest --dlgrade ex04`` (or ``--dlgrade all``; repeatable) run at the root of a student
repository collects one item per check of each named exercise, e.g.
``dlgrade/ex04_dropout::inverted_scaling``. Pytest-based graders (GitHub Classroom's Python
grader, a course's pytest CI, Gradescope pytest setups) thus use dlgrade unchanged.

It is a front end, not a second grader: each exercise is graded once, by
:func:`grader.engine.grade` with the same isolation as ``dlgrade check``, when its first item
runs; each item then reports its check's verdict. ``pass`` passes; ``fail`` and ``error`` (the
student's code raised, hung or crashed) fail with the student message (neutralised, so printed
text cannot issue CI commands) as the failure text; ``skip`` skips. A grader bug makes the items
error. Each item's ``user_properties`` carry ``dlgrade_score``, ``dlgrade_max_score``,
``dlgrade_kind`` and ``dlgrade_status`` (pytest's own mechanism for graders reading results).

Options: ``--dlgrade EX``, ``--dlgrade-path P`` (default ``.``), ``--dlgrade-seed N`` (default:
a fresh seed, shown in the header), ``--dlgrade-device cpu|cuda|auto``, ``--dlgrade-no-perf``,
``--dlgrade-json FILE`` (the contract's JSON report of everything graded).

Nothing beyond pytest is imported unless ``--dlgrade`` is given: the plugin is loaded by every
pytest run in an environment where dlgrade is installed.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest

_RESULTS = pytest.StashKey[dict]()
_SEED = pytest.StashKey[int]()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("dlgrade", "grading with dlgrade")
    group.addoption("--dlgrade", action="append", default=[], metavar="EX",
                    help="collect dlgrade's checks of exercise EX (ex04, 4, dropout) or of 'all' "
                         "as test items; repeatable")
    group.addoption("--dlgrade-path", default=".", metavar="P",
                    help="student repository, folder of modules or file (default: .)")
    group.addoption("--dlgrade-seed", type=int, default=None, metavar="N",
                    help="seed of the random inputs (default: a fresh one, shown in the header)")
    group.addoption("--dlgrade-device", choices=["cpu", "cuda", "auto"], default="cpu",
                    help="device of the torch exercises' checks (default: cpu)")
    group.addoption("--dlgrade-no-perf", action="store_true", default=False,
                    help="skip dlgrade's performance checks")
    group.addoption("--dlgrade-json", default=None, metavar="FILE",
                    help="write dlgrade's JSON report of the graded exercises to FILE")


def _exercises(config):
    from grader.exercises import UnknownExercise, all_exercises, resolve
    names = [n for arg in config.getoption("dlgrade") for n in arg.split(",") if n.strip()]
    if any(n.strip().lower() == "all" for n in names):
        return all_exercises()
    try:
        return list(dict.fromkeys(resolve(n) for n in names))
    except UnknownExercise as exc:
        raise pytest.UsageError(f"--dlgrade: {exc.args[0]}") from None


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "dlgrade: a check collected by dlgrade's pytest plugin")
    if not config.getoption("dlgrade"):
        return
    seed = config.getoption("dlgrade_seed")
    config.stash[_SEED] = secrets.randbelow(2**31) if seed is None else seed
    config.stash[_RESULTS] = {}
    if not Path(config.getoption("dlgrade_path")).exists():
        raise pytest.UsageError(f"--dlgrade-path {config.getoption('dlgrade_path')}: "
                                "no such file or folder")


def pytest_report_header(config):
    if not config.getoption("dlgrade"):
        return None
    from grader import __version__
    ids = ", ".join(e.id for e in _exercises(config))
    return (f"dlgrade {__version__}: {ids} in {config.getoption('dlgrade_path')} with seed "
            f"{config.stash[_SEED]} (reproduce: --dlgrade-seed {config.stash[_SEED]})")


class CheckNotPassed(Exception):
    """A check's verdict was ``fail`` or ``error``; ``str`` is the failure text."""


class DlgradeExercise(pytest.Collector):
    """One exercise: grades it once (in :meth:`setup`) and yields one item per check."""

    def __init__(self, *, exercise, **kwargs):
        super().__init__(**kwargs)
        self.exercise = exercise
        self.result = None
        self.internal_error = ""

    def collect(self):
        for check in self.exercise.checks:
            yield DlgradeCheck.from_parent(self, name=check.name, check=check)

    def setup(self) -> None:
        if self.result is not None:
            return
        import os
        from grader.engine import Options, grade
        config = self.config
        device = config.getoption("dlgrade_device")
        if device == "auto":
            device = "cpu"
            if self.exercise.backend == "torch":
                import torch
                device = "cuda" if torch.cuda.is_available() else "cpu"
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        report = grade([self.exercise], config.getoption("dlgrade_path"),
                       Options(seed=config.stash[_SEED], device=device,
                               perf=not config.getoption("dlgrade_no_perf")))
        self.result = report.exercises[0]
        self.internal_error = "\n".join(report.internal_errors)
        config.stash[_RESULTS][self.exercise.id] = (report, self.result)

    def reportinfo(self):
        return Path(self.config.getoption("dlgrade_path")), None, self.name


class DlgradeCheck(pytest.Item):
    """One check of one exercise; its outcome is the check's verdict."""

    def __init__(self, *, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.add_marker(pytest.mark.dlgrade)

    def runtest(self) -> None:
        parent: DlgradeExercise = self.parent
        res = next(c for c in parent.result.checks if c.name == self.check.name)
        self.user_properties += [("dlgrade_score", res.score), ("dlgrade_max_score", res.max_score),
                                 ("dlgrade_kind", res.kind), ("dlgrade_status", res.status)]
        if parent.internal_error and res.message.startswith("internal grader error"):
            raise RuntimeError(f"dlgrade itself failed (not your code): {res.message}")
        if res.status == "skip":
            pytest.skip(res.message or "not applicable here")
        if res.status in ("fail", "error"):
            raise CheckNotPassed(f"{res.score:g}/{res.max_score:g} points ({res.status}, "
                                 f"{res.kind}): {res.message}")

    def repr_failure(self, excinfo, style=None):
        from grader.report.terminal import neutralise
        if isinstance(excinfo.value, CheckNotPassed):
            return neutralise(str(excinfo.value))
        return neutralise(str(super().repr_failure(excinfo, style)))

    def reportinfo(self):
        ex = self.parent.exercise
        return (Path(self.config.getoption("dlgrade_path")), None,
                f"{ex.id}_{ex.slug}::{self.check.name} ({self.check.points:g} pts)")


def _only_dlgrade(config) -> bool:
    """``--dlgrade`` was given and no test path was named on the command line.

    pytest then falls back to ``testpaths`` or the current folder, which in a course checkout
    (or a student repository with tests of its own) holds a test suite the student did not ask
    for; only dlgrade's items are collected. Paths named explicitly are collected as usual.
    """
    if not config.getoption("dlgrade"):
        return False
    source = getattr(config, "args_source", None)  # pytest >= 7.2
    return source is not None and source is not pytest.Config.ArgsSource.ARGS


def pytest_ignore_collect(collection_path, config):
    """Collect nothing from the file system under ``--dlgrade`` alone (see :func:`_only_dlgrade`)."""
    return True if _only_dlgrade(config) else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    """Append the dlgrade items (first, so ``-k`` and ``-m`` select among them too)."""
    if not config.getoption("dlgrade"):
        return
    for ex in _exercises(config):
        name = f"dlgrade/{ex.id}_{ex.slug}"
        collector = DlgradeExercise.from_parent(session, name=name, nodeid=name, exercise=ex)
        items.extend(session.genitems(collector))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not config.getoption("dlgrade"):
        return
    graded = config.stash.get(_RESULTS, {})
    if not graded:
        return
    seed = config.stash[_SEED]
    terminalreporter.section("dlgrade points")
    total = maximum = 0.0
    for _report, ex in graded.values():
        total += ex.score
        maximum += ex.max_score
        terminalreporter.write_line(f"{ex.id} {ex.name}: {ex.score:g} / {ex.max_score:g}")
    terminalreporter.write_line(f"total: {total:g} / {maximum:g} (seed {seed}; reproduce with "
                                f"dlgrade check {' '.join(graded)} --seed {seed})")
    path = config.getoption("dlgrade_json")
    if path:
        import json
        from grader.results import Report
        first = next(iter(graded.values()))[0]
        report = Report(seed=seed, device=first.device,
                        exercises=[ex for _r, ex in graded.values()],
                        internal_errors=[e for r, _ in graded.values() for e in r.internal_errors])
        Path(path).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"dlgrade JSON report: {path}")
