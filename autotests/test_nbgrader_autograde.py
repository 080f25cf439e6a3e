"""``dlgrade nbgrader autograde`` with the real nbgrader: no student code in a kernel.

* (default suite, ~17 s) build -> ``nbgrader generate_assignment`` -> a correct, a wrong and a
  hostile student -> ``dlgrade nbgrader autograde`` -> ``nbgrader generate_feedback`` and
  ``nbgrader export`` unchanged: the exported scores are ``dlgrade check``'s, and the hostile
  notebook (appends to the course's files and ``$GITHUB_ENV``, rewrites ``gradebook.db``) changes
  nothing;
* the kernel path (~11 s): the same notebook through ``nbgrader autograde`` does all of that.
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")

from test_nbgrader import (NAIVE, SOLUTIONS, STABLE, _cells, _env, _nbgrader,  # noqa: E402
                           _outputs, course_points, grades, submission)

from grader.exercises import resolve  # noqa: E402
from grader.nbgrader.build import Options, build_course  # noqa: E402


HOSTILE = r'''
import os, sqlite3
for _target in TARGETS:                     # the course folder, the gradebook, CI's env file
    try:
        with open(_target, "a") as _fh:
            _fh.write("PWNED=1\n")
    except OSError:
        pass
try:                                        # give every cell of every student 100 points
    _db = sqlite3.connect(DB)
    _db.execute("UPDATE grade SET manual_score = 100")
    _db.commit()
except Exception:
    pass
os.environ["PWNED"] = "1"
'''


def _hostile_cell(course: Path, github_env: Path) -> str:
    targets = [str(course / "pwned.txt"), str(course / "nbgrader_config.py"),
               str(course / "source" / "ex01_sigmoid" / "ex01_sigmoid.ipynb"), str(github_env)]
    return HOSTILE.replace("TARGETS", repr(targets)).replace("DB", repr(str(course / "gradebook.db")))


def _dlgrade_nbgrader(course: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, env=env or _env(course.parent),
                          timeout=900)


def _snapshot(course: Path) -> dict:
    """Every file of the course folder but the students' notebooks (which hold mallory's code)."""
    return {p: p.read_bytes() for p in course.rglob("*") if p.is_file() and not any(
        p.is_relative_to(course / d) for d in ("submitted", "autograded"))}


def _hostile_course(base: Path, broken: bool = False) -> tuple[Path, Path]:
    """ex01 (`stability` hidden) released, with a correct (alice, with a timestamp), a wrong
    (carol: the overflow bug) and a hostile student (mallory: carol's bug plus :data:`HOSTILE`).
    ``broken``: zoe's notebook is not valid JSON. Everything under ``base`` is writable by everyone, so that only the confinement of student
    code, not the folder's permissions, can keep the hostile cell out."""
    course = base / "course"
    build_course(course, [resolve("ex01")], SOLUTIONS, Options(hidden=("ex01:stability",)))
    name = "ex01_sigmoid"
    _nbgrader(course, "generate_assignment", name)
    github_env = base / "github_env"
    github_env.write_text("")
    submission(course, name, "alice")
    submission(course, name, "carol", fix=lambda gid, rel, ref: ref.replace(STABLE, NAIVE))
    submission(course, name, "mallory", extra_cells=[_hostile_cell(course, github_env)],
               fix=lambda gid, rel, ref: ref.replace(STABLE, NAIVE))
    (course / "submitted" / "alice" / name / "timestamp.txt").write_text("2026-01-05 10:00:00 UTC")
    if broken:
        (course / "submitted" / "zoe" / name).mkdir(parents=True)
        (course / "submitted" / "zoe" / name / f"{name}.ipynb").write_text('{"cells": [')
    (course / "dlgrade.toml").write_text("[limits]\ncall_timeout_s = 30\nbudget_s = 120\n")
    (course / "submitted" / "mallory" / name / "dlgrade.toml").write_text(   # never read
        "[exercises.ex01]\npoints = { signature = 100, inputs_untouched = 100 }\n")
    for p in [base, *base.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    return course, github_env


@pytest.fixture(scope="module")
def dl_course(tmp_path_factory):
    """:func:`_hostile_course` graded by `dlgrade nbgrader autograde`, then nbgrader's own
    generate_feedback and export, unchanged."""
    base = tmp_path_factory.mktemp("dlauto")
    course, github_env = _hostile_course(base, broken=True)
    before = _snapshot(course)
    env = dict(_env(base), GITHUB_ENV=str(github_env))
    r = _dlgrade_nbgrader(course, "autograde", str(course), "ex01_sigmoid", env=env)
    assert r.returncode == 1, r.stdout + r.stderr  # zoe's notebook: the others are graded
    assert "zoe: nbgrader could not autograde ex01_sigmoid (NotJSONError" in \
        r.stdout.replace("\n", ""), r.stdout
    assert f"configuration: {course / 'dlgrade.toml'}" in r.stdout.replace("\n", ""), r.stdout
    after = _snapshot(course)
    _nbgrader(course, "generate_feedback", "ex01_sigmoid")
    _nbgrader(course, "export")
    return {"course": course, "run": r, "before": before, "after": after,
            "github_env": github_env}


def test_dlgrade_autograde_scores_equal_dlgrade_check_and_export_unchanged(dl_course):
    """generate_feedback and export (unchanged nbgrader) carry dlgrade's points: each student's
    exported score is what `dlgrade check --no-perf --path submitted/<student>` gives."""
    from conftest import grade_file
    course = dl_course["course"]
    g = grades(course)
    full = course_points(course, "ex01_sigmoid")
    assert g[("ex01_sigmoid", "alice")] == (full, full)
    for student in ("alice", "carol", "mallory"):
        result = grade_file("ex01", course / "submitted" / student, perf=False)
        assert g[("ex01_sigmoid", student)] == (result.score, full), student
    assert g[("ex01_sigmoid", "zoe")] == (0.0, full)
    stability = next(c.points for c in resolve("ex01").checks if c.name == "stability")
    assert g[("ex01_sigmoid", "carol")][0] == full - stability  # the overflow bug, nothing else
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert rows["alice"]["timestamp"].startswith("2026-01-05 10:00:00")  # nbgrader's timestamp
    html = (course / "feedback/carol/ex01_sigmoid/ex01_sigmoid.html").read_text()
    assert "overflow encountered in exp" in html and "graded by dlgrade, no kernel" in html
    autograded = nbformat.read(course / "autograded/carol/ex01_sigmoid/ex01_sigmoid.ipynb",
                               as_version=4)
    failed = [c.metadata.nbgrader.grade_id for c in _cells(autograded, "grade")
              if _outputs(c, "error")]
    assert failed == ["ex01_test_stability"]  # the hidden test cell, restored from the source
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        comment = gb.find_comment("ex01_solution_sigmoid", "ex01_sigmoid", "ex01_sigmoid", "carol")
        assert "stability" in comment.auto_comment and "overflow" in comment.auto_comment
        assert not gb.find_grade("ex01_test_stability", "ex01_sigmoid", "ex01_sigmoid",
                                 "carol").needs_manual_grade


def test_dlgrade_autograde_keeps_a_hostile_notebook_out_of_the_course(dl_course):
    """mallory's cell appends to the course's files, CI's env file and rewrites every grade in
    the gradebook with sqlite3: with dlgrade's autograde none of it lands (the folder is
    writable by everyone: the student process's own user and its Landlock confinement refuse
    it; with both removed, pwned.txt appears and this test fails)."""
    course, before, after = dl_course["course"], dl_course["before"], dl_course["after"]
    assert not (course / "pwned.txt").exists()
    assert dl_course["github_env"].read_text() == ""
    for path in ("nbgrader_config.py", "source/ex01_sigmoid/ex01_sigmoid.ipynb"):
        assert after[course / path] == before[course / path], path
    assert b"PWNED" not in b"".join(after.values())
    assert _manual_scores(course) == []
    g = grades(course)
    assert all(score <= full for score, full in g.values()), g
    assert g[("ex01_sigmoid", "mallory")][0] < course_points(course, "ex01_sigmoid")


def _manual_scores(course: Path) -> list:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return [(g.student.id, g.name, g.manual_score) for sub in
                gb.assignment_submissions("ex01_sigmoid") for nb in sub.notebooks
                for g in nb.grades if g.manual_score is not None]


def test_the_kernel_path_lets_the_same_hostile_notebook_into_the_course(tmp_path):
    """What docs/instructors.md says of `nbgrader autograde` (DlgradeVerdicts on, as built):
    mallory's cell runs in a kernel as the instructor and writes the course folder, CI's env
    file and every grade of the gradebook (the verdict step fixes the test cells' auto scores,
    but nbgrader prefers the manual scores mallory wrote)."""
    course, github_env = _hostile_course(tmp_path)
    r = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "ex01_sigmoid"], cwd=course,
                       capture_output=True, text=True, timeout=900,
                       env=dict(_env(tmp_path), GITHUB_ENV=str(github_env)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (course / "pwned.txt").read_text() == "PWNED=1\n"
    assert "PWNED=1" in github_env.read_text()
    assert "PWNED=1" in (course / "nbgrader_config.py").read_text()
    assert _manual_scores(course) and all(m == 100 for _, _, m in _manual_scores(course))


def test_dlgrade_autograde_refuses_to_run_unconfined(tmp_path, monkeypatch):
    """Not root (no user to run student code as) and no Landlock: exit 2 and nothing graded,
    unless --allow-unconfined."""
    from click.testing import CliRunner
    from grader import cli
    from grader.nbgrader import autograde
    from grader.runner import process
    monkeypatch.setattr(autograde, "landlock_abi", lambda: 0)
    monkeypatch.setattr(process, "resolve_run_as", lambda user, backend: None)
    assert autograde.confinement() is None
    (tmp_path / "course").mkdir()
    r = CliRunner().invoke(cli.cli, ["nbgrader", "autograde", str(tmp_path / "course"),
                                     "ex01_sigmoid"])
    assert r.exit_code == 2 and "cannot keep student code from the course folder" in r.output
    assert not (tmp_path / "course" / "gradebook.db").exists()


def test_dlgrade_autograde_one_student_again(dl_course, tmp_path):
    """--student ID --force grades that submission again and reports only it; a grouped cell's
    points are dlgrade's fraction of the cell's points (grader.nbgrader.autograde.cell_points)."""
    from grader.nbgrader.autograde import cell_points
    from grader.nbgrader.runtime import CellResult
    course = tmp_path / "course"
    shutil.copytree(dl_course["course"], course)
    r = _dlgrade_nbgrader(course, "autograde", str(course), "ex01_sigmoid", "--student", "carol",
                          "--force")
    assert r.returncode == 0, r.stdout + r.stderr
    full = course_points(course, "ex01_sigmoid")
    stability = next(c.points for c in resolve("ex01").checks if c.name == "stability")
    assert f"carol: {full - stability:g}/{full:g}" in r.stdout
    assert "alice:" not in r.stdout and "mallory:" not in r.stdout
    assert cell_points(CellResult(False, score=3.0, max_score=5.0), 5.0) == 3.0
    assert cell_points(CellResult(False, score=3.0, max_score=6.0), 4.0) == 2.0
    assert cell_points(CellResult(False, score=0.0, max_score=0.0), 4.0) == 0.0
