"""`dlgrade release`: a student starter repository with skeletons, CI and README, no solutions."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from grader import ci
from grader.exercises import all_exercises, resolve
from grader.release import ReleaseError, release
from grader.skeleton import BEGIN


def _released_exercises():
    """Registered exercises whose skeleton exists here and is in step with its solution (others
    are being written right now; test_skeletons keeps them in step once they land)."""
    from grader.skeleton import make_skeleton
    out = []
    for e in all_exercises():
        skel, sol = ROOT / "exercises" / e.filename, ROOT / "solutions" / e.filename
        if skel.is_file() and (not sol.is_file()
                               or make_skeleton(sol.read_text()) == skel.read_text()):
            out.append(e)
    assert any(e.id == "ex01" for e in out)
    return out


def test_release_writes_skeletons_ci_and_readme_without_solutions(tmp_path):
    exercises = _released_exercises()
    target = tmp_path / "starter"
    written = release(target, ROOT, exercises)
    rel = sorted(str(p.relative_to(target)) for p in written)
    assert rel == sorted([f"exercises/{e.filename}" for e in exercises]
                         + [".github/workflows/dlgrade.yml", "README.md", "requirements.txt",
                            ".gitignore"])
    for e in exercises:
        text = (target / "exercises" / e.filename).read_text()
        assert text == (ROOT / "exercises" / e.filename).read_text()
        assert text != (ROOT / "solutions" / e.filename).read_text()
        assert "NotImplementedError" in text
    for p in target.rglob("*"):
        if p.is_file():
            assert BEGIN not in p.read_text() and "END SOLUTION" not in p.read_text()
    assert not (target / "solutions").exists()
    assert (target / ".github/workflows/dlgrade.yml").read_text() == ci.render("github")
    readme = (target / "README.md").read_text()
    assert "dlgrade check ex01" in readme and "dlgrade check --all" in readme
    assert "pytest --dlgrade" in readme
    for e in exercises:
        assert f"exercises/{e.filename}" in readme
        for f in e.functions:
            assert f"`{f.name}({', '.join(f.params)})`" in readme
    assert f"dlgrade=={ci.__version__}" in (target / "requirements.txt").read_text()


def test_the_released_repository_grades_to_zero_without_crashing(tmp_path):
    target = tmp_path / "starter"
    release(target, ROOT, [resolve("ex01")], provider="gitlab")
    assert (target / ".gitlab-ci.yml").is_file()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "check", "ex01", "--seed", "1",
                           "--no-perf", "--json", "r.json"], cwd=target, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((target / "r.json").read_text())
    assert report["score"] == 0
    assert any("not implemented yet" in c["message"] for c in report["exercises"][0]["checks"])


def test_release_refuses_unsafe_targets_and_stale_skeletons(tmp_path):
    with pytest.raises(ReleaseError, match="inside the course checkout"):
        release(ROOT / "build" / "starter", ROOT, [resolve("ex01")])
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("student work")
    with pytest.raises(ReleaseError, match="not empty"):
        release(full, ROOT, [resolve("ex01")])
    release(full, ROOT, [resolve("ex01")], force=True)
    assert (full / "keep.txt").read_text() == "student work"
    # A course checkout whose skeleton is out of step with its solution, or is a solution.
    course = tmp_path / "course"
    (course / "exercises").mkdir(parents=True)
    (course / "solutions").mkdir()
    solution = (ROOT / "solutions" / "ex01_sigmoid.py").read_text()
    (course / "solutions" / "ex01_sigmoid.py").write_text(solution)
    (course / "exercises" / "ex01_sigmoid.py").write_text(solution)
    with pytest.raises(ReleaseError, match="solution markers"):
        release(tmp_path / "out1", course, [resolve("ex01")])
    stale = (ROOT / "exercises" / "ex01_sigmoid.py").read_text() + "\n# edited by hand\n"
    (course / "exercises" / "ex01_sigmoid.py").write_text(stale)
    with pytest.raises(ReleaseError, match="out of step"):
        release(tmp_path / "out2", course, [resolve("ex01")])
    (course / "exercises" / "ex01_sigmoid.py").unlink()
    with pytest.raises(ReleaseError, match="dlgrade skeletons"):
        release(tmp_path / "out3", course, [resolve("ex01")])


def test_release_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "release", str(tmp_path / "s"),
                           "-e", "ex01", "--no-classroom", "--install", "dlgrade==9.9"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no solutions" in proc.stdout
    wf = (tmp_path / "s" / ".github/workflows/dlgrade.yml").read_text()
    assert "dlgrade==9.9" in wf and "autograding-grading-reporter" not in wf
    again = subprocess.run([sys.executable, "-m", "grader.cli", "release", str(tmp_path / "s")],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "not empty" in again.stderr
