"""A course configuration in the student's submission never changes points, limits or checks.

The rule (grader/discovery.py): ``--config FILE`` or ``$DLGRADE_CONFIG``, else the packaged course
configuration, else the working directory's ``dlgrade.toml`` / ``[tool.dlgrade]`` only when that
file is not inside the graded submission (the ``--path`` folder, extended to its git work tree).
Each attack below is run as the real command line and fails if the rule is removed (the old rule
read the working directory first, and the ``--path`` folder when run inside it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SOLUTION = (ROOT / "solutions" / "ex01_sigmoid.py").read_text()
#: A wrong sigmoid (tanh) that passes only the signature and property checks.
WRONG = ("import numpy as np\n\ndef sigmoid(z):\n    return np.tanh(z)\n\n"
         "def sigmoid_grad(z):\n    return 1 - np.tanh(z) ** 2\n")
#: Raise the points of what the wrong sigmoid passes, zero the rest.
GREEDY = ("[exercises.ex01]\npoints = { signature = 100, inputs_untouched = 100, "
          "sigmoid_values = 0, sigmoid_grad_values = 0, sigmoid_grad_numeric = 0, "
          "stability = 0 }\n")


def _built_in(check: str) -> float:
    from grader.exercises import resolve
    return next(c.points for c in resolve("ex01").checks if c.name == check)


def _dlgrade(cwd: Path, *args: str, env=None) -> tuple[subprocess.CompletedProcess, dict]:
    """``dlgrade check ... --json -`` in ``cwd`` as CI runs it; (process, ex01's checks by name)."""
    environ = {k: v for k, v in os.environ.items() if k != "DLGRADE_CONFIG"}
    environ.update(PYTHONPATH=str(ROOT), GITHUB_ACTIONS="true", **(env or {}))
    environ.pop("GITHUB_STEP_SUMMARY", None)
    r = subprocess.run([sys.executable, "-m", "grader.cli", "check", *args, "--seed", "1",
                        "--no-perf", "--json", "-"], cwd=cwd, capture_output=True, text=True,
                       env=environ, timeout=600)
    assert r.returncode in (0, 1), r.stdout[-2000:] + r.stderr[-3000:]
    report = json.loads(r.stdout)
    ex01 = next(e for e in report["exercises"] if e["id"] == "ex01")
    return r, {c["name"]: c for c in ex01["checks"]}


def _repo(tmp_path: Path, code: str, git: bool = True) -> Path:
    """A student repository: ``exercises/ex01_sigmoid.py``, a git work tree when ``git``."""
    repo = tmp_path / "repo"
    (repo / "exercises").mkdir(parents=True)
    (repo / "exercises" / "ex01_sigmoid.py").write_text(code)
    if git:
        if shutil.which("git"):
            subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True)
        else:
            (repo / ".git").mkdir()
    return repo


def test_a_repository_config_raising_points_is_ignored_in_ci(tmp_path):
    """CI style: the student's repository root holds a dlgrade.toml giving the checks its wrong
    sigmoid passes 100 points; `dlgrade check --all` runs from that root."""
    repo = _repo(tmp_path, WRONG)
    (repo / "dlgrade.toml").write_text(GREEDY)
    r, checks = _dlgrade(repo, "--all")
    assert checks["signature"]["max_score"] == _built_in("signature")
    assert checks["sigmoid_values"]["max_score"] == _built_in("sigmoid_values")
    assert "ignored" in r.stderr and "dlgrade.toml" in r.stderr and "--config" in r.stderr


def test_a_pyproject_raising_limits_is_ignored(tmp_path):
    """``[tool.dlgrade.limits] file_mb`` in the student's pyproject.toml, to write a 3 MiB file
    (the built-in limit is 1 MiB): the module still fails to import, so no check passes."""
    repo = _repo(tmp_path, "with open('big.bin', 'wb') as fh:\n    fh.write(b'x' * 3 * 2**20)\n"
                 + SOLUTION)
    (repo / "pyproject.toml").write_text("[project]\nname = 'mine'\n\n[tool.dlgrade.limits]\n"
                                         "file_mb = 64\n")
    r, checks = _dlgrade(repo, "ex01")
    assert checks["sigmoid_values"]["status"] == "error", checks["sigmoid_values"]
    assert "File too large" in checks["sigmoid_values"]["message"] or \
        "failed to import" in checks["sigmoid_values"]["message"]
    assert "pyproject.toml" in r.stderr and "ignored" in r.stderr


def test_a_config_in_a_student_controlled_parent_of_path_is_ignored(tmp_path):
    """Graded with ``--path exercises`` from the repository root: the working directory is not
    inside the graded folder, but it is the student's repository (its git work tree)."""
    repo = _repo(tmp_path, WRONG)
    (repo / "dlgrade.toml").write_text(GREEDY)
    r, checks = _dlgrade(repo, "ex01", "--path", "exercises")
    assert checks["signature"]["max_score"] == _built_in("signature")
    assert "ignored" in r.stderr
    # The same folder graded from outside the repository, with the course's file: it counts.
    course = tmp_path / "course"
    course.mkdir()
    (course / "dlgrade.toml").write_text("[exercises.ex01]\npoints = { sigmoid_values = 7 }\n")
    r, checks = _dlgrade(course, "ex01", "--path", str(repo / "exercises"))
    assert checks["sigmoid_values"]["max_score"] == 7.0
    assert f"configuration: {course / 'dlgrade.toml'}" in r.stderr.replace("\n", "")


def test_a_config_in_a_notebook_submission_folder_is_ignored(tmp_path):
    """nbgrader's layout, graded from inside the submission folder (``cd submitted/mallory/
    ex01_sigmoid && dlgrade check ex01 --path ex01_sigmoid.ipynb``): its dlgrade.toml is the
    student's."""
    import nbformat
    folder = tmp_path / "submitted" / "mallory" / "ex01_sigmoid"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WRONG)])
    nbformat.write(nb, folder / "ex01_sigmoid.ipynb")
    (folder / "dlgrade.toml").write_text(GREEDY)
    r, checks = _dlgrade(folder, "ex01", "--path", "ex01_sigmoid.ipynb")
    assert checks["signature"]["max_score"] == _built_in("signature")
    assert "ignored" in r.stderr


def test_explicit_config_is_used_and_refused_inside_the_graded_folder(tmp_path):
    """``--config`` and ``$DLGRADE_CONFIG`` name the course's file; one inside the graded folder
    is a usage error (exit 2), not silently used."""
    repo = _repo(tmp_path, SOLUTION, git=False)
    course = tmp_path / "course.toml"
    course.write_text("[exercises.ex01]\npoints = { sigmoid_values = 9 }\n")
    r, checks = _dlgrade(repo, "ex01", "--config", str(course))
    assert checks["sigmoid_values"]["max_score"] == 9.0 and "(--config)" in r.stderr
    r, checks = _dlgrade(repo, "ex01", env={"DLGRADE_CONFIG": str(course)})
    assert checks["sigmoid_values"]["max_score"] == 9.0 and "$DLGRADE_CONFIG" in r.stderr
    (repo / "dlgrade.toml").write_text(GREEDY)
    bad = subprocess.run([sys.executable, "-m", "grader.cli", "check", "ex01", "--config",
                          "dlgrade.toml"], cwd=repo, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert bad.returncode == 2 and "a submission cannot configure its own grading" in bad.stderr


def test_discovery_rule(tmp_path, monkeypatch):
    """The rule as a function: cwd's file outside the submission counts, inside it is ignored;
    the git work tree extends the submission; grade-batch (repository=False) keeps a course
    repository's file for the students' folders inside it."""
    from grader import config
    from grader.discovery import discover
    monkeypatch.setattr(config, "PACKAGED", tmp_path / "no-packaged.toml")
    course, student = tmp_path / "course", tmp_path / "course" / "subs" / "alice"
    student.mkdir(parents=True)
    (course / "dlgrade.toml").write_text("")
    (student / "dlgrade.toml").write_text("")
    found = discover(student, cwd=course, environ={})
    assert found.file == course / "dlgrade.toml" and found.origin == "working directory"
    assert found.ignored == (student / "dlgrade.toml",)
    assert discover(student, cwd=student, environ={}).file is None
    assert discover(None, cwd=course, environ={}).file == course / "dlgrade.toml"
    (course / ".git").mkdir()  # the course folder is a git work tree holding plain folders
    found = discover(student, cwd=course, environ={})
    assert found.file is None and course / "dlgrade.toml" in found.ignored
    assert "--config" in found.notice()
    assert discover(course / "subs", cwd=course, environ={}, repository=False).file == \
        course / "dlgrade.toml"
    assert config.find(student, cwd=course) is None
    shutil.rmtree(course / ".git")
    (student / "dlgrade.toml").unlink()  # a link in the submission to a file outside it
    (student / "dlgrade.toml").symlink_to(tmp_path / "elsewhere.toml")
    (tmp_path / "elsewhere.toml").write_text("")
    assert discover(student, cwd=student, environ={}).file is None
    (student / "dlgrade.toml").unlink()  # a student's broken pyproject.toml stops nothing
    (student / "pyproject.toml").write_text("[tool.dlgrade\nperf = ")
    found = discover(student, cwd=student, environ={})
    assert found.file is None and found.ignored == ()


@pytest.mark.parametrize("command", ["list"])
def test_list_names_the_configuration_it_used(tmp_path, command):
    repo = _repo(tmp_path, SOLUTION, git=False)
    (repo / "dlgrade.toml").write_text(GREEDY)
    r = subprocess.run([sys.executable, "-m", "grader.cli", command], cwd=repo,
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr
    assert "ignored" in r.stdout and "100" not in r.stdout.split("configuration:")[0]
