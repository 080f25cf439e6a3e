"""The workflow `dlgrade release` writes runs: its steps, executed as a runner executes them.

A course checkout (this repository plus a dlgrade.toml of its own) is released; the starter
repository becomes a git repository, a student clones it, solves ex01 and ex04, plants a
dlgrade.toml of their own (every sigmoid_values point 100) and commits. Then the generated GitHub
workflow's steps run in order on a fresh clone of the student's repository, in a fresh virtual
environment, with a runner's variables (:mod:`ci_runner`), and so does the GitLab job's script.

One variable is overridden, and only it: ``TORCH_INDEX_URL`` (PyTorch's CPU wheel index in the
workflow) is set to "" so the torch line installs the same pinned torch from this machine's
package mirror, the only index reachable here; everything else runs as generated.

Checked: the vendored wheel's checksum, the install, `dlgrade check --all`, every report (JUnit
against both schemas, Gradescope against its format, the step summary), the Classroom step's
output and what the reporter makes of it, the course's packaged configuration grading (not the
student's), and, in the same environment, that the student's requirements.txt gives a working
`pytest --dlgrade` and a `dlgrade list` that counts the points CI counted. An edited wheel fails
the install step with one clear line.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ci_runner import base_env, fresh_python, run_github_job, run_gitlab_job
from conftest import ROOT
from grader import ci

SCHEMAS = Path(__file__).resolve().parent / "schemas"
COURSE_TOML = ("[exercises.ex01]\npoints = { sigmoid_values = 5 }\n\n"
               "[gradescope]\nleaderboard = true\n")
STUDENT_TOML = "[exercises.ex01]\npoints = { sigmoid_values = 100 }\n"
LOCAL_TORCH = {"TORCH_INDEX_URL": ""}  # this machine's mirror instead of download.pytorch.org
GIT = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.org"}

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("sha256sum") is None,
                                reason="needs git and sha256sum (coreutils), as every runner has")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, **GIT})


@pytest.fixture(scope="module")
def student_repo(tmp_path_factory):
    """The course released (GitHub workflow, plus `dlgrade ci init --provider gitlab` in the
    template), committed as the template; the student's clone with ex01 and ex04 solved."""
    tmp = tmp_path_factory.mktemp("classroom")
    course = tmp / "course"
    course.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, course / name)
    for name in ("grader", "exercises", "solutions"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    (course / "dlgrade.toml").write_text(COURSE_TOML)
    template = tmp / "template"
    cli = [sys.executable, "-m", "grader.cli"]
    proc = subprocess.run([*cli, "release", str(template), "--source", str(course)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([*cli, "ci", "init", "--provider", "gitlab"], cwd=template,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _git(template, "init", "-q", "-b", "main")
    _git(template, "add", "-A")
    _git(template, "commit", "-q", "-m", "starter")
    student = tmp / "student"
    _git(tmp, "clone", "-q", str(template), str(student))
    for ex in ("ex01_sigmoid.py", "ex04_dropout.py"):
        shutil.copy2(ROOT / "solutions" / ex, student / "exercises" / ex)
    (student / "dlgrade.toml").write_text(STUDENT_TOML)
    _git(student, "add", "-A")
    _git(student, "commit", "-q", "-m", "ex01 and ex04")
    return student


@pytest.fixture(scope="module")
def jobs(student_repo, tmp_path_factory):
    """The GitHub job and the GitLab job, run at the same time (each on its own clone)."""
    roots = {k: tmp_path_factory.mktemp(k) for k in ("github", "gitlab")}
    out: dict = {}

    def github():
        out["github"] = run_github_job(student_repo / ".github/workflows/dlgrade.yml",
                                       str(student_repo), roots["github"], LOCAL_TORCH)

    def gitlab():
        out["gitlab"] = run_gitlab_job(student_repo / ".gitlab-ci.yml", "dlgrade",
                                       str(student_repo), roots["gitlab"], LOCAL_TORCH)

    threads = [threading.Thread(target=f) for f in (github, gitlab)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(out) == {"github", "gitlab"}, "a job runner raised: see the captured stderr"
    out["workspace"] = roots["github"] / "workspace"
    out["venv"] = roots["github"] / "runner_temp" / "python"
    return out


def _steps(jobs) -> dict:
    return {s.id or s.name: s for s in jobs["github"]}


def _validate_reports(folder: Path, report: dict) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    jsonschema = pytest.importorskip("jsonschema")
    for xsd in ("junit-10.xsd", "junit.xsd"):
        xmlschema.XMLSchema(str(SCHEMAS / xsd)).validate(str(folder / ci.REPORT_JUNIT))
    schema = json.loads((SCHEMAS / "gradescope-results.schema.json").read_text())
    gradescope = json.loads((folder / ci.REPORT_GRADESCOPE).read_text())
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(gradescope))
    assert gradescope["score"] == report["score"]
    assert "leaderboard" in gradescope  # the course's [gradescope] leaderboard = true


def _check_report(report: dict) -> None:
    """ex01 and ex04 are right (their correctness checks pass), the rest are skeletons; the
    course's packaged configuration set the points, not the student's dlgrade.toml."""
    by_id = {e["id"]: e for e in report["exercises"]}
    assert set(by_id) == {e.id for e in ci_exercises()}
    for ex in ("ex01", "ex04"):
        judged = [c for c in by_id[ex]["checks"] if c["kind"] != "performance"]
        assert all(c["status"] == "pass" for c in judged), by_id[ex]["checks"]
    sigmoid_values = next(c for c in by_id["ex01"]["checks"] if c["name"] == "sigmoid_values")
    assert sigmoid_values["max_score"] == 5 and sigmoid_values["score"] == 5
    assert all(c["status"] != "pass" for c in by_id["ex02"]["checks"] if c["kind"] == "value")
    assert 0 < report["score"] < report["max_score"]


def ci_exercises():
    from grader.exercises import all_exercises
    return all_exercises()


def test_the_github_steps_run_in_order_and_grade(jobs):
    steps = _steps(jobs)
    outcomes = [(s.name, s.outcome) for s in jobs["github"]]
    assert outcomes == [
        ("Check out the submission", "success"), ("Set up Python", "success"),
        ("Install dlgrade", "success"),
        ("Grade with dlgrade", "failure"),  # exit 1: some checks fail (ex02.. are skeletons)
        ("Upload the reports", "success"), ("Points for GitHub Classroom", "success"),
        ("Autograding Reporter", "failure"),  # the reporter's setFailed("Some tests failed.")
    ], [(s.name, s.outcome, s.log[-1500:]) for s in jobs["github"]]
    install = steps["Install dlgrade"].log
    assert f"{ci.__version__}-py3-none-any.whl: OK" in install  # sha256sum --check
    grade = steps["grade"]
    assert grade.extra["exit_code"] == 1
    report = json.loads((jobs["workspace"] / ci.REPORT_JSON).read_text())
    _check_report(report)
    assert f"dlgrade: {report['score']:g}/{report['max_score']:g} points; exit status 1" in grade.log
    assert steps["Upload the reports"].extra["uploaded"] == steps["Upload the reports"].extra["asked"]
    _validate_reports(jobs["workspace"], report)
    # The run's summary page: dlgrade's section, with the report's total.
    assert grade.summary.startswith(
        f"## ❌ dlgrade: {report['score']:g} / {report['max_score']:g} points")
    # Classroom: the step's `result` output is what the reporter decodes, and it totals the
    # report's points (what Classroom shows as "Points score/max").
    result = json.loads(base64.b64decode(steps["dlgrade"].outputs["result"]))
    assert result["status"] == "fail" and result["max_score"] == report["max_score"]
    reporter = steps["Autograding Reporter"]
    assert reporter.extra["results"] == [result]
    assert reporter.extra["points"] == (report["score"], report["max_score"])


def test_the_student_setup_from_requirements_runs_pytest_and_counts_the_same(jobs):
    """In the job's environment, the student's own setup (`pip install -r requirements.txt`)
    adds pytest; `pytest --dlgrade ex01 --dlgrade ex02` then passes the solved exercise's checks
    and fails the skeleton's, exiting with pytest's status 1, and `dlgrade list` counts the
    points CI counted."""
    bin_dir = jobs["venv"] / "bin"
    ws = jobs["workspace"]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")
           and not k.startswith(("PYTEST_", "GITHUB_"))}
    env["PATH"] = str(bin_dir) + os.pathsep + env["PATH"]
    python = str(bin_dir / "python")
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "-r", "requirements.txt"],
                          cwd=ws, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    from grader.exercises import resolve
    run = subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                          "--dlgrade-no-perf", "--dlgrade-seed", "3", "--dlgrade", "ex01",
                          "--dlgrade", "ex02"], cwd=ws, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 1, (run.returncode, run.stdout[-3000:], run.stderr[-2000:])
    for c in resolve("ex01").checks:  # the solved exercise passes check by check
        if c.kind != "performance":
            assert f"PASSED dlgrade/ex01_sigmoid::{c.name}" in run.stdout, c.name
    assert "FAILED dlgrade/ex02_backprop::affine_forward" in run.stdout  # the skeleton fails
    listed = subprocess.run([str(bin_dir / "dlgrade"), "list"], cwd=ws, env=env,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    report = json.loads((ws / ci.REPORT_JSON).read_text())
    assert f"total {report['max_score']:g} points" in listed.stdout


def test_the_gitlab_script_runs_and_grades(jobs):
    gl = jobs["gitlab"]
    assert gl["exit_code"] == 1, gl["log"][-3000:]  # the grading line: some checks fail
    assert f"{ci.__version__}-py3-none-any.whl: OK" in gl["log"]
    assert gl["artifacts"] == {ci.REPORT_JSON: True, ci.REPORT_JUNIT: True,
                               ci.REPORT_GRADESCOPE: True}
    assert gl["job"]["artifacts"]["reports"]["junit"] == ci.REPORT_JUNIT
    project = gl["project_dir"]
    report = json.loads((project / ci.REPORT_JSON).read_text())
    _check_report(report)
    _validate_reports(project, report)
    assert gl["env"]["PIP_CACHE_DIR"] == f"{project}/.cache/pip"  # $CI_PROJECT_DIR expanded
    assert f"dlgrade: {report['score']:g}/{report['max_score']:g} points" in gl["log"]


def test_an_edited_wheel_fails_the_install_step_with_one_clear_line(student_repo, tmp_path):
    """One byte of the vendored wheel changed: the install step's first line (GitHub) and the
    first script line (GitLab) end the job, naming the file; pip never runs."""
    edited = tmp_path / "edited"
    _git(tmp_path, "clone", "-q", str(student_repo), str(edited))
    wheel = next((edited / ".dlgrade").glob("*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0x01
    wheel.write_bytes(bytes(data))
    _git(edited, "commit", "-q", "-am", "edit the grader")
    import yaml
    workflow = yaml.safe_load((edited / ".github/workflows/dlgrade.yml").read_text())
    (job,) = workflow["jobs"].values()
    step = next(s for s in job["steps"] if s.get("name") == "Install dlgrade")
    env = {**base_env(), **{k: str(v) for k, v in job["env"].items()}, **LOCAL_TORCH,
           "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(edited)}
    (tmp_path / "install.sh").write_text(step["run"])
    proc = subprocess.run(["bash", "-e", str(tmp_path / "install.sh")], cwd=edited, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout
    assert f".dlgrade/{wheel.name}: FAILED" in proc.stdout
    assert "::error title=dlgrade install::the vendored grader in .dlgrade/ was changed" \
        in proc.stdout
    assert "Collecting" not in proc.stdout and "Processing" not in proc.stdout  # pip never ran
    gitlab = yaml.safe_load((edited / ".gitlab-ci.yml").read_text())["dlgrade"]
    proc = subprocess.run(["bash", "-c", "set -eo pipefail\n" + gitlab["script"][0]], cwd=edited,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert proc.returncode == 1
    assert f".dlgrade/{wheel.name}: FAILED" in proc.stdout
    assert "the vendored grader in .dlgrade/ was changed" in proc.stdout
    assert "::error" not in proc.stdout  # GitLab has no workflow commands


def test_fresh_python_refuses_another_version(tmp_path):
    """The stand-in for setup-python and the python:X.Y image cannot silently use another
    Python than the workflow asks for."""
    with pytest.raises(AssertionError, match="asks for Python 2.7"):
        fresh_python(tmp_path / "v", "2.7")
