"""The pytest plugin (`pytest --dlgrade EX`) is a front end of the same engine as `dlgrade check`.

Run as students and CI run it: pytest in a subprocess at the root of a student repository, with
the plugin loaded through its ``pytest11`` entry point (``pip install -e .`` registers it). The
per-check outcomes are compared with ``dlgrade check --json`` at the same seed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SUBMISSIONS

SEED = 11
#: sign_error's wrong sigmoid, and a sigmoid_grad that raises with CI workflow commands in the text.
STUDENT = (SUBMISSIONS / "ex01" / "sign_error.py").read_text() + '''

def sigmoid_grad(z):  # noqa: F811 - replaces the one above
    raise ValueError("::error file=a.py::pwned\\n##[warning]legacy\\n\\x1b[31mred")
'''


def _plugin_registered() -> bool:
    from importlib.metadata import entry_points
    return any(ep.value == "grader.pytest_plugin" for ep in entry_points(group="pytest11"))


pytestmark = pytest.mark.skipif(not _plugin_registered(),
                                reason="dlgrade is not installed (pip install -e .): no pytest11 entry point")


def _env():
    return {k: v for k, v in os.environ.items()
            if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "PYTEST_ADDOPTS")}


def _pytest(repo: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=repo, capture_output=True, text=True, timeout=300, env=_env())


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("student")
    (repo / "exercises").mkdir()
    (repo / "exercises" / "ex01_sigmoid.py").write_text(STUDENT)
    return repo


@pytest.fixture(scope="module")
def runs(repo):
    plugin = _pytest(repo, "--dlgrade", "ex01", "--dlgrade-seed", str(SEED), "--dlgrade-no-perf",
                     "--dlgrade-json", "plugin.json", "--junitxml", "pytest-junit.xml", "-rA")
    check = subprocess.run([sys.executable, "-m", "grader.cli", "check", "ex01", "--seed",
                            str(SEED), "--no-perf", "--json", "check.json"], cwd=repo,
                           capture_output=True, text=True, timeout=300, env=_env())
    return plugin, check


def test_same_verdicts_as_dlgrade_check(repo, runs):
    from junitparser import Error, Failure, JUnitXml, Skipped
    plugin, check = runs
    assert plugin.returncode == 1 and check.returncode == 1, plugin.stdout[-3000:]
    report = json.loads((repo / "check.json").read_text())
    checks = report["exercises"][0]["checks"]
    cases = {c.name: c for s in JUnitXml.fromfile(str(repo / "pytest-junit.xml")) for c in s}
    assert set(cases) == {c["name"] for c in checks}
    for c in checks:
        case = cases[c["name"]]
        got = ("pass" if case.is_passed else "skip" if case.is_skipped
               else "fail/error" if case.is_failure or case.is_error else "?")
        want = {"pass": "pass", "skip": "skip"}.get(c["status"], "fail/error")
        assert got == want, (c["name"], c["status"], got)
        assert not any(isinstance(r, Error) for r in case.result)  # student errors are failures
        if c["status"] in ("fail", "error"):
            failure = next(r for r in case.result if isinstance(r, Failure))
            first = c["message"].split("\n")[0]
            assert f"0/{c['max_score']:g} points ({c['status']}, {c['kind']})" in failure.text
            assert first[:30] in failure.text or "\\x" in failure.text
        if c["status"] == "skip":
            assert any(isinstance(r, Skipped) for r in case.result)
    # The plugin's own JSON report is the same report, check for check.
    mine = json.loads((repo / "plugin.json").read_text())
    strip = lambda rep: [(c["name"], c["status"], c["score"], c["message"])  # noqa: E731
                         for e in rep["exercises"] for c in e["checks"]]
    assert strip(mine) == strip(report)
    assert mine["score"] == report["score"] and mine["seed"] == SEED
    assert f"total: {report['score']:g} / {report['max_score']:g}" in plugin.stdout
    assert f"seed {SEED}" in plugin.stdout


def test_failure_text_is_the_student_message_neutralised(runs):
    plugin, _ = runs
    out = plugin.stdout
    assert "the exponent must be exp(-z)" in out  # the hint of sign_error's wrong sigmoid
    assert "pwned" in out
    for line in out.splitlines():
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line and "\x1b" not in line


def test_one_item_per_check_for_all_exercises_without_grading(repo):
    from grader.exercises import all_exercises
    proc = _pytest(repo, "--dlgrade", "all", "--collect-only", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = [ln for ln in proc.stdout.splitlines() if ln.startswith("dlgrade/")]
    want = [f"dlgrade/{e.id}_{e.slug}::{c.name}" for e in all_exercises() for c in e.checks]
    assert ids == want


def test_keyword_selection_and_usage_errors(repo):
    proc = _pytest(repo, "--dlgrade", "1", "--dlgrade-seed", "3", "--dlgrade-no-perf",
                   "-k", "sigmoid_values")
    assert proc.returncode == 1, proc.stdout[-2000:]
    from grader.exercises import resolve
    n = len(resolve("ex01").checks)
    assert "1 failed" in proc.stdout and f"{n - 1} deselected" in proc.stdout
    assert "the exponent must be exp(-z)" in proc.stdout
    bad = _pytest(repo, "--dlgrade", "ex99")
    assert bad.returncode == 4 and "unknown exercise" in bad.stderr


def test_exit_status_is_pytests_own_when_exercise_files_are_missing(repo):
    """Only ex01 is there: the torch exercises' files are missing, so their grading ends before
    the oracles' torch import (started in a thread) does. grade() now joins that import; before,
    pytest's interpreter shut down under it and crashed (signal 11, exit status 139: checked
    with grade() as it was, twice)."""
    proc = _pytest(repo, "--dlgrade", "all", "--dlgrade-no-perf", "-q")
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "no file ex08_attention.py found" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].endswith(tuple("0123456789s"))  # pytest's summary


def test_in_a_checkout_with_a_test_suite_only_dlgrade_items_are_collected():
    """At the root of the course checkout (testpaths = autotests), `--dlgrade ex01` collects
    dlgrade's items only; a path named on the command line is still collected."""
    from conftest import ROOT
    from grader.exercises import resolve
    proc = _pytest(ROOT, "--dlgrade", "ex01", "--collect-only", "-q")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ids = [ln for ln in proc.stdout.splitlines() if "::" in ln]
    assert ids == [f"dlgrade/ex01_sigmoid::{c.name}" for c in resolve("ex01").checks]
    both = _pytest(ROOT, "--dlgrade", "ex01", "--collect-only", "-q", "autotests/test_codec.py")
    assert both.returncode == 0, both.stdout[-2000:]
    assert any(ln.startswith("autotests/test_codec.py::") for ln in both.stdout.splitlines())
    assert any(ln.startswith("dlgrade/ex01_sigmoid::") for ln in both.stdout.splitlines())
