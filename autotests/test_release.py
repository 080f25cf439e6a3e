"""`dlgrade release`: a student starter repository with skeletons, the grader's wheel, CI and a
README, no solutions.

The vendored wheel is opened and searched for every solution block of ``solutions/``; the
workflow installs exactly that wheel after checking its SHA-256 (autotests/test_workflow_run.py
runs the workflow itself).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from grader import ci
from grader.exercises import all_exercises, resolve
from grader.release import ReleaseError, release
from grader.skeleton import BEGIN
from grader.vendor import MIN_LINES, solution_overlaps

WHEEL = f".dlgrade/dlgrade-{ci.__version__}-py3-none-any.whl"
#: Solution blocks shorter than MIN_LINES that the grader computes too: the formula itself.
#: ex01's stable sigmoid is the oracle (exercises/ex01_sigmoid/checks.py) and the timing
#: formula of the grader's oracle. A new entry here is a decision, not a fix.
KNOWN_FORMULAS = {("ex01_sigmoid.py", "sigmoid")}
PUBLISHED = ci.WorkflowOptions(install="dlgrade==9.9")  # no wheel to build: faster


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


def _course(tmp_path, toml: str | None = None):
    """A course checkout: this repository's packaging, grader, exercises and solutions."""
    course = tmp_path / "course"
    course.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, course / name)
    for name in ("grader", "exercises", "solutions"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    if toml is not None:
        (course / "dlgrade.toml").write_text(toml)
    return course


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The default release of the course (a dlgrade.toml of its own) into an empty folder."""
    tmp = tmp_path_factory.mktemp("release")
    course = _course(tmp, "[exercises.ex01]\npoints = { sigmoid_values = 5 }\n\n"
                          "[gradescope]\nleaderboard = true\n")
    target = tmp / "starter"
    notes: list[str] = []
    exercises = _released_exercises()
    written = release(target, course, exercises, notes=notes)
    return {"course": course, "target": target, "written": written, "notes": notes,
            "exercises": exercises}


def test_release_writes_skeletons_wheel_ci_and_readme_without_solutions(released):
    exercises, target = released["exercises"], released["target"]
    rel = sorted(str(p.relative_to(target)) for p in released["written"])
    assert rel == sorted([f"exercises/{e.filename}" for e in exercises]
                         + [".github/workflows/dlgrade.yml", "README.md", "requirements.txt",
                            ".gitignore", WHEEL, ".dlgrade/SHA256SUMS"])
    for e in exercises:
        text = (target / "exercises" / e.filename).read_text()
        assert text == (ROOT / "exercises" / e.filename).read_text()
        assert text != (ROOT / "solutions" / e.filename).read_text()
        assert "NotImplementedError" in text
    for p in target.rglob("*"):
        if p.is_file() and p.suffix != ".whl":
            assert BEGIN not in p.read_text() and "END SOLUTION" not in p.read_text()
    assert not (target / "solutions").exists()
    assert (target / ".github/workflows/dlgrade.yml").read_text() == \
        ci.render("github", ci.WorkflowOptions(vendored=WHEEL))
    readme = (target / "README.md").read_text()
    assert "dlgrade check ex01" in readme and "dlgrade check --all" in readme
    assert "pytest --dlgrade" in readme
    for e in exercises:
        assert f"exercises/{e.filename}" in readme
        for f in e.functions:
            assert f"`{f.name}({', '.join(f.params)})`" in readme
    requirements = (target / "requirements.txt").read_text().splitlines()
    assert f"./{WHEEL}" in requirements and f"torch=={ci.TORCH_VERSION}" in requirements
    assert any(line.startswith("pytest") for line in requirements)


def test_the_wheel_holds_the_grader_and_the_course_configuration_but_no_solution(released):
    """Opened: grader code, the course's dlgrade.toml as grader/course/dlgrade.toml, and no
    solutions/ file; no solution block of MIN_LINES or more code lines appears in any file, and
    the shorter ones that do are the known formulas."""
    wheel = released["target"] / WHEEL
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        packaged = zf.read("grader/course/dlgrade.toml").decode()
    assert "grader/cli.py" in names and "grader/templates/ci/github.yml.j2" in names
    assert not [n for n in names if n.startswith(("solutions/", "exercises/", "autotests/"))]
    assert packaged == (released["course"] / "dlgrade.toml").read_text()
    found = solution_overlaps(wheel, ROOT / "solutions")
    assert not [f for f in found if f["function"] is None or f["lines"] >= MIN_LINES], found
    assert {(f["solution"], f["function"]) for f in found} <= KNOWN_FORMULAS
    assert any("sigmoid" in n for n in released["notes"]) == \
        any(f["function"] == "sigmoid" for f in found)
    sums = (released["target"] / ".dlgrade/SHA256SUMS").read_text()
    assert sums == f"{hashlib.sha256(wheel.read_bytes()).hexdigest()}  {WHEEL}\n"


def test_solution_code_in_the_grader_refuses_the_release(tmp_path):
    """The defence: a course whose grader/ holds a solution function body is not released
    (checked by hand: without the check in checked_wheel this release succeeds)."""
    course = _course(tmp_path)
    solution = (ROOT / "solutions" / "ex04_dropout.py").read_text()
    (course / "grader" / "leaked_helper.py").write_text(solution.replace(BEGIN, "# begin")
                                                        .replace("### END SOLUTION", "# end"))
    with pytest.raises(ReleaseError, match="holds solution code: ex04_dropout.py"):
        release(tmp_path / "out", course, [resolve("ex04")])
    assert not (tmp_path / "out" / WHEEL).exists()


def test_the_same_checkout_gives_the_same_wheel(released, tmp_path):
    """SOURCE_DATE_EPOCH is fixed: a release made again vendors the same bytes (same checksum,
    so re-releasing does not churn every student repository)."""
    again = tmp_path / "again"
    release(again, released["course"], [resolve("ex01")])
    assert (again / ".dlgrade/SHA256SUMS").read_text() == \
        (released["target"] / ".dlgrade/SHA256SUMS").read_text()


def test_release_then_ci_init_does_not_fail(released, tmp_path):
    target = tmp_path / "s"
    shutil.copytree(released["target"], target)
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "ci", "init"], cwd=target,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "is up to date" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "ci", "init", "--provider",
                           "gitlab"], cwd=target, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    gitlab = (target / ".gitlab-ci.yml").read_text()
    assert f'DLGRADE_INSTALL: "{WHEEL}"' in gitlab and "sha256sum --check" in gitlab


def test_readme_says_how_to_get_the_cpu_torch_and_what_ci_leaves_out(released, tmp_path):
    readme = (released["target"] / "README.md").read_text()
    assert f"pip install torch=={ci.TORCH_VERSION} --index-url {ci.TORCH_CPU_INDEX}" in readme
    assert "the same checks as `dlgrade check --all` on your machine" in readme
    assert "official grade" in readme
    # The course's points (dlgrade.toml: sigmoid_values = 5 instead of 3) in the table.
    ex01 = resolve("ex01")
    from grader.release import judged_points
    want = judged_points(ex01) - next(c.points for c in ex01.checks
                                      if c.name == "sigmoid_values") + 5
    assert f"| numpy | {want:g} |" in readme
    quiet = tmp_path / "quiet"
    release(quiet, ROOT, [resolve("ex01"), resolve("ex06")],
            workflow=ci.WorkflowOptions(install="dlgrade==9.9", perf=False))
    text = (quiet / "README.md").read_text()
    perf = sum(c.points for e in (resolve("ex01"), resolve("ex06")) for c in e.checks
               if c.kind == "performance" and not c.name.startswith("cuda_"))
    assert "CI does not run the performance" in text and f"{perf:g} points in all" in text
    assert "--no-perf" in (quiet / ".github/workflows/dlgrade.yml").read_text()


def test_the_released_repository_grades_to_zero_without_crashing(tmp_path):
    target = tmp_path / "starter"
    release(target, ROOT, [resolve("ex01")], provider="gitlab", workflow=PUBLISHED)
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
    release(full, ROOT, [resolve("ex01")], force=True, workflow=PUBLISHED)
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
    # No grader checkout to build the wheel from: say so, and name --install.
    (course / "exercises" / "ex01_sigmoid.py").write_text(
        (ROOT / "exercises" / "ex01_sigmoid.py").read_text())
    with pytest.raises(ReleaseError, match="--install SPEC"):
        release(tmp_path / "out4", course, [resolve("ex01")])


def test_release_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "release", str(tmp_path / "s"),
                           "-e", "ex01", "--no-classroom", "--install", "dlgrade==9.9",
                           "--extra-index-url", "https://pypi.example.org/simple"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no solutions" in proc.stdout
    wf = (tmp_path / "s" / ".github/workflows/dlgrade.yml").read_text()
    assert "dlgrade==9.9" in wf and "autograding-grading-reporter" not in wf
    assert 'PIP_EXTRA_INDEX_URL: "https://pypi.example.org/simple"' in wf  # a private index
    requirements = (tmp_path / "s" / "requirements.txt").read_text().splitlines()
    assert requirements.index("--extra-index-url https://pypi.example.org/simple") \
        < requirements.index("dlgrade==9.9")
    assert not (tmp_path / "s" / ".dlgrade").exists()
    again = subprocess.run([sys.executable, "-m", "grader.cli", "release", str(tmp_path / "s")],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "not empty" in again.stderr
    typo = subprocess.run([sys.executable, "-m", "grader.cli", "release", str(tmp_path / "t"),
                           "-e", "dropuot"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert typo.returncode == 2 and "did you mean 'dropout'?" in typo.stderr


def test_ci_init_vendors_a_wheel_from_a_course_checkout(tmp_path):
    """`dlgrade ci init --source COURSE` in a repository that has none: the wheel and its
    checksum are written, and the workflow installs that wheel."""
    repo = tmp_path / "repo"
    repo.mkdir()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "ci", "init", "--source", str(ROOT),
                           "--path", str(repo)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = repo / WHEEL
    assert wheel.is_file()
    assert (repo / ".dlgrade/SHA256SUMS").read_text().startswith(
        hashlib.sha256(wheel.read_bytes()).hexdigest())
    assert (repo / ".github/workflows/dlgrade.yml").read_text() == \
        ci.render("github", ci.WorkflowOptions(vendored=WHEEL))
    both = subprocess.run([sys.executable, "-m", "grader.cli", "ci", "init", "--source", str(ROOT),
                           "--install", "dlgrade==1", "--path", str(repo)],
                          capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "not both" in both.stderr
