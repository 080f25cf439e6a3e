"""dlgrade's exercises as nbgrader assignments, tested with the real nbgrader, nbclient and ipykernel.

* build: ``dlgrade nbgrader build`` writes valid nbgrader metadata, points and grade ids from the
  registry, hidden tests on request (fast, no kernel);
* kernel: the generated test cells, run by nbclient in a real ipykernel, grade the saved notebook
  once in a separate process and fail with dlgrade's message (a few seconds);
* pipeline (ex01, default suite, ~25 s): build -> ``nbgrader generate_assignment`` -> submissions
  -> ``nbgrader autograde`` -> ``nbgrader export`` -> ``nbgrader generate_feedback``;
* dlgrade's autograde (no kernel): test_nbgrader_autograde.py;
* the same pipeline over every registered exercise is marked slow (minutes: the torch exercises'
  checks dominate).
"""
from __future__ import annotations

import csv
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from conftest import ROOT  # noqa: E402
from grader.exercises import all_exercises, resolve  # noqa: E402
from grader.nbgrader.build import (WARNING_PATTERN, BuildError, Options, build_course,  # noqa: E402
                                   check_groups, notebook_name)

SOLUTIONS = ROOT / "solutions"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


# ------------------------------------------------------------------------------------------ helpers
def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    # nbgrader runs `alembic` from PATH; the kernels must be this interpreter's.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(tmp / ".jupyter-config")  # no user-level nbgrader config
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / ".jupyter-runtime")
    env["JUPYTER_PREFER_ENV_PATH"] = "1"  # this environment's python3 kernel before a user's
    return env


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True,
                       text=True, env=_env(course.parent), timeout=1800)
    assert r.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r


def _unmark(source: str) -> str:
    return "\n".join(ln for ln in source.split("\n") if ln.strip() not in MARKERS)


def solution_lines(source: str) -> set[str]:
    """Code lines inside the solution regions of ``source`` (stripped, no comments) that do not
    also appear outside them (a docstring's formula such as ``next_c = f * prev_c + i * g`` is
    teaching material that students are meant to see)."""
    inside_lines, outside_lines, inside = set(), set(), False
    for ln in source.splitlines():
        s = ln.strip()
        if s == MARKERS[0]:
            inside = True
        elif s == MARKERS[1]:
            inside = False
        elif s and not s.startswith("#"):
            (inside_lines if inside else outside_lines).add(s)
    return inside_lines - outside_lines


def submission(course: Path, name: str, student: str, fix=None, extra_cells=()) -> Path:
    """A student's submitted copy of the released notebook, with each solution cell's source
    replaced by ``fix(grade_id, released_source, reference_source)`` (default: the reference
    solution without the markers; ``fix=False`` submits the released notebook unchanged)."""
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    reference = {c.metadata["nbgrader"]["grade_id"]: _unmark(c.source) for c in source.cells}
    nb = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and fix is not False:
            gid = meta["grade_id"]
            cell.source = fix(gid, cell.source, reference[gid]) if fix else reference[gid]
    for i, code in enumerate(extra_cells):
        nb.cells.insert(2 + i, nbformat.v4.new_code_cell(code))
    target = course / "submitted" / student / name / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def grades(course: Path) -> dict:
    with open(course / "grades.csv", newline="") as fh:
        return {(r["assignment"], r["student_id"]): (float(r["score"]), float(r["max_score"]))
                for r in csv.DictReader(fh)}


def notebook_points(ex) -> float:
    """The points of ``ex``'s notebook: performance checks are left out unless built with --perf."""
    return float(sum(c.points for c in ex.checks if c.kind != "performance"))


def course_points(course: Path, name: str) -> float:
    """The points of the built notebook ``name`` (the sum of its test cells' points)."""
    nb = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    return float(sum(c.metadata.nbgrader.points for c in _cells(nb, "grade")))


def _cells(nb, kind):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get(kind)]


# ------------------------------------------------------------------------------------------ build
def test_build_writes_valid_nbgrader_notebooks_for_every_exercise(tmp_path):
    from nbgrader.nbgraderformat import MetadataValidator
    exercises = all_exercises()
    written = build_course(tmp_path, exercises, SOLUTIONS, Options(probe=False))
    assert written[0] == tmp_path / "nbgrader_config.py"
    compile(written[0].read_text(), "nbgrader_config.py", "exec")
    for ex in exercises:
        name = notebook_name(ex)
        nb = nbformat.read(tmp_path / "source" / name / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        MetadataValidator().validate_nb(nb)  # nbgrader's own schema (v3) and unique grade ids
        solution_cells = _cells(nb, "solution")
        assert {c.metadata.nbgrader.grade_id for c in solution_cells} == \
            {f"{ex.id}_solution_{f.name}" for f in ex.functions}
        assert all(MARKERS[0] in c.source and not c.metadata.nbgrader.grade for c in solution_cells)
        tests = _cells(nb, "grade")
        judged = [c for c in ex.checks if c.kind != "performance"]
        assert [c.metadata.nbgrader.grade_id for c in tests] == [f"{ex.id}_test_{c.name}" for c in judged]
        assert [c.metadata.nbgrader.points for c in tests] == [float(c.points) for c in judged]
        assert all(c.metadata.nbgrader.locked and not c.metadata.nbgrader.solution for c in tests)
        assert all(f"dlgrade_check({name + '.ipynb'!r}, {ex.id!r}" in c.source for c in tests)
        intro = nb.cells[0]
        assert intro.cell_type == "markdown" and intro.metadata.nbgrader.locked
        assert ex.title in intro.source
        for f in ex.functions:
            assert f"`{f.name}(" in intro.source
        if ex.teaching.strip():
            assert ex.teaching.strip().splitlines()[0] in intro.source


def test_hidden_checks_sit_between_nbgrader_hidden_test_markers(tmp_path):
    ex = resolve("ex01")
    build_course(tmp_path, [ex], SOLUTIONS, Options(hidden=("ex01:stability",), seed=42))
    nb = nbformat.read(tmp_path / "source/ex01_sigmoid/ex01_sigmoid.ipynb", as_version=4)
    tests = {c.metadata.nbgrader.grade_id: c.source for c in _cells(nb, "grade")}
    assert "### BEGIN HIDDEN TESTS" in tests["ex01_test_stability"]
    assert sum("BEGIN HIDDEN TESTS" in s for s in tests.values()) == 1
    assert all("seed=42" in s for s in tests.values())
    assert "Some checks are hidden" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_checks_can_be_grouped_into_one_graded_cell(tmp_path):
    ex = resolve("ex01")
    names = [c.name for c in ex.checks]
    grouped = dataclasses.replace(ex, config={**ex.config, "nbgrader_groups": [
        ("basics", names[:2]), ("rest", names[2:])]})
    groups = check_groups(grouped)
    assert [g.name for g in groups] == ["basics", "rest"]
    assert sum(g.points for g in groups) == notebook_points(ex)
    build_course(tmp_path, [grouped], SOLUTIONS)
    nb = nbformat.read(tmp_path / "source/ex01_sigmoid/ex01_sigmoid.ipynb", as_version=4)
    tests = _cells(nb, "grade")
    assert [c.metadata.nbgrader.points for c in tests] == [g.points for g in groups]
    assert repr(names[:2]) in tests[0].source
    broken = dataclasses.replace(ex, config={"nbgrader_groups": [("a", names[:1])]})
    with pytest.raises(BuildError, match="leaves out checks"):
        check_groups(broken)


def test_the_probe_leaves_out_checks_that_do_not_apply_and_warns_of_broken_ones(tmp_path):
    """In nbgrader a cell's points are fixed, so a check that is skipped where the course grades
    (a CUDA check on a CPU hub) would give every student free points: the build grades the
    reference solution first and leaves such checks out."""
    from grader.spec import Check, Fail, Skip

    def gpu_only(ctx):
        raise Skip("no CUDA device in use")

    def never(ctx):
        raise Fail("this check cannot pass")

    ex = resolve("ex01")
    ex = dataclasses.replace(ex, checks=ex.checks + (Check("gpu_only", "value", 1, gpu_only),
                                                     Check("broken", "value", 1, never)))
    notes: list[str] = []
    build_course(tmp_path, [ex], SOLUTIONS, Options(), notes)
    nb = nbformat.read(tmp_path / "source/ex01_sigmoid/ex01_sigmoid.ipynb", as_version=4)
    ids = [c.metadata.nbgrader.grade_id for c in _cells(nb, "grade")]
    assert "ex01_test_gpu_only" not in ids and "ex01_test_broken" in ids
    assert any("left out gpu_only" in n and "no CUDA device" in n for n in notes), notes
    assert any("does not pass broken" in n for n in notes), notes


def test_warning_pattern_drops_warnings_not_errors():
    assert re.search(WARNING_PATTERN, "/x/torch/storage.py:414: UserWarning: TypedStorage is deprecated")
    assert re.search(WARNING_PATTERN, "<stdin>:1: RuntimeWarning: overflow encountered in exp")
    assert not re.search(WARNING_PATTERN, "Traceback (most recent call last):\nValueError: bad shape")


def test_build_command_usage_errors(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "grader.cli", "nbgrader", "build", *args],
                              capture_output=True, text=True, cwd=tmp_path)
    r = run(str(tmp_path / "course"), "ex01", "--solutions", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "no such folder" in r.stderr
    r = run(str(tmp_path / "course"), "ex01", "--solutions", str(SOLUTIONS), "--hidden", "nope")
    assert r.returncode == 2 and "no check named 'nope'" in r.stderr
    r = run(str(tmp_path / "course"), "ex01", "--solutions", str(SOLUTIONS))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "course/source/ex01_sigmoid/ex01_sigmoid.ipynb").is_file()


# ------------------------------------------------------------------------------------------ kernel
def _execute(nb, cwd: Path):
    from nbclient import NotebookClient
    env = _env(cwd)
    env.pop("NBGRADER_EXECUTION", None)
    os.makedirs(env["JUPYTER_RUNTIME_DIR"], exist_ok=True)
    old = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def _outputs(cell, kind):
    return [o for o in cell.outputs if o.output_type == kind]


def test_test_cells_in_a_kernel_grade_the_saved_notebook_once(tmp_path):
    course = tmp_path / "course"
    build_course(course, [resolve("ex01")], SOLUTIONS)
    source = nbformat.read(course / "source/ex01_sigmoid/ex01_sigmoid.ipynb", as_version=4)
    for cell in _cells(source, "solution"):
        cell.source = _unmark(cell.source)
    work = tmp_path / "student"
    work.mkdir()
    nbformat.write(source, work / "ex01_sigmoid.ipynb")
    # Run an in-memory copy whose sigmoid_grad is broken: the saved (correct) file is graded, and
    # the cells say that the kernel's sigmoid_grad is not saved.
    live = nbformat.reads(nbformat.writes(source), as_version=4)
    for cell in _cells(live, "solution"):
        cell.source = cell.source.replace("return s * (1.0 - s)", "return s")
    _execute(live, work)
    tests = _cells(live, "grade")
    assert tests
    seeds = set()
    for cell in tests:
        assert not _outputs(cell, "error"), cell.outputs
        assert not [o for o in _outputs(cell, "stream") if o.name == "stderr"]
        text = "".join(o.text for o in _outputs(cell, "stream"))
        assert "passed" in text and "sigmoid_grad in this kernel differ" in text, text
        seeds.update(re.findall(r"seed (\d+)", text))
    assert len(seeds) == 1  # one grading run served every test cell

    # Now the saved file has the classic overflow bug: the stability cell fails with dlgrade's
    # message, the others pass.
    for cell in _cells(source, "solution"):
        cell.source = cell.source.replace(
            "e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
            "return 1.0 / (1.0 + np.exp(-z))")
    nbformat.write(source, work / "ex01_sigmoid.ipynb")
    _execute(source, work)
    by_id = {c.metadata.nbgrader.grade_id: c for c in _cells(source, "grade")}
    err = _outputs(by_id["ex01_test_stability"], "error")
    assert err and err[0].ename == "AssertionError"
    assert "overflow encountered in exp" in err[0].evalue
    assert "dlgrade check ex01 --path ex01_sigmoid.ipynb --seed" in err[0].evalue
    assert "grader/" not in "\n".join(err[0].traceback)  # no grader frames in what students see
    assert not _outputs(by_id["ex01_test_sigmoid_values"], "error")


# ------------------------------------------------------------------------------------------ pipeline
NAIVE = "return 1.0 / (1.0 + np.exp(-z))"
STABLE = "e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))"
BLANKER = "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"


@pytest.fixture(scope="module")
def ex01_course(tmp_path_factory):
    """ex01 through nbgrader (its `stability` check hidden): generate_assignment, four
    submissions, autograde, export, generate_feedback."""
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    build_course(course, [resolve("ex01")], SOLUTIONS, Options(hidden=("ex01:stability",)))
    name = "ex01_sigmoid"
    _nbgrader(course, "generate_assignment", name)
    submission(course, name, "alice", extra_cells=[        # the reference solution, and a
        "import warnings\nwarnings.warn('np.float is a deprecated alias', UserWarning)"])  # warning
    submission(course, name, "bob", fix=False)              # the released notebook, unsolved
    submission(course, name, "carol",                       # the classic overflow bug
               fix=lambda gid, rel, ref: ref.replace(STABLE, NAIVE))
    submission(course, name, "mallory", fix=False, extra_cells=[BLANKER])   # blanks later cells
    _nbgrader(course, "autograde", name)
    _nbgrader(course, "export")
    _nbgrader(course, "generate_feedback", name)
    return course


def test_release_notebook_has_no_solution_code(ex01_course):
    secret = solution_lines((SOLUTIONS / "ex01_sigmoid.py").read_text())
    assert secret
    nb = nbformat.read(ex01_course / "release/ex01_sigmoid/ex01_sigmoid.ipynb", as_version=4)
    shown = {ln.strip() for c in nb.cells for ln in c.source.splitlines()}
    assert not secret & shown
    assert all("raise NotImplementedError()" in c.source for c in _cells(nb, "solution"))
    tests = {c.metadata.nbgrader.grade_id: c.source for c in _cells(nb, "grade")}
    assert "dlgrade_check(" not in tests["ex01_test_stability"]   # hidden: only its description
    assert "finite, accurate and warning-free" in tests["ex01_test_stability"]
    assert all("dlgrade_check(" in src for gid, src in tests.items() if gid != "ex01_test_stability")


def test_autograde_and_export_score_the_submissions(ex01_course):
    g = grades(ex01_course)
    full = course_points(ex01_course, "ex01_sigmoid")
    assert g[("ex01_sigmoid", "alice")] == (full, full)     # its warning cost nothing
    assert g[("ex01_sigmoid", "bob")] == (0.0, full)
    assert 0 < g[("ex01_sigmoid", "carol")][0] < full       # partial credit
    # Without dlgrade's verdict step, mallory's blanked test cells would all "pass" in nbgrader.
    assert g[("ex01_sigmoid", "mallory")] == (0.0, full)


def test_feedback_shows_the_dlgrade_message_naming_the_bug(ex01_course):
    html = (ex01_course / "feedback/carol/ex01_sigmoid/ex01_sigmoid.html").read_text()
    assert "overflow encountered in exp" in html
    assert "graded outside the kernel" in html
    assert "dlgrade check ex01 --path ex01_sigmoid.ipynb --seed" in html
    autograded = nbformat.read(ex01_course / "autograded/carol/ex01_sigmoid/ex01_sigmoid.ipynb",
                               as_version=4)
    failed = [c.metadata.nbgrader.grade_id for c in _cells(autograded, "grade")
              if _outputs(c, "error")]
    assert failed == ["ex01_test_stability"]  # the hidden check, restored and run by autograde


def _regrade(course: Path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", "nbgrader", "regrade", str(course),
                           "ex01_sigmoid", *extra], capture_output=True, text=True,
                          env=_env(course.parent), timeout=600)


def _verdict_lines(r) -> dict:
    return {ln.split(":")[0]: ln for ln in r.stdout.splitlines() if not ln.startswith(" ")}


def test_regrade_finds_and_fixes_points_the_gradebook_got_wrong(ex01_course, tmp_path):
    """Whatever put wrong points into the gradebook (here: written directly, as a subverted
    kernel would have), `dlgrade nbgrader regrade` grades outside any kernel, reports the cells
    that differ, and `--apply` writes dlgrade's points as nbgrader manual scores."""
    from nbgrader.api import Gradebook
    course = tmp_path / "course"
    shutil.copytree(ex01_course, course)
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url) as gb:
        cells = gb.find_notebook("ex01_sigmoid", "ex01_sigmoid").grade_cells
        for cell in cells:
            gb.find_grade(cell.name, "ex01_sigmoid", "ex01_sigmoid", "mallory").auto_score = \
                cell.max_score
        gb.db.commit()
    r = _regrade(course)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = _verdict_lines(r)
    assert "differs" in lines["mallory"] and "agrees" in lines["alice"] and "agrees" in lines["carol"]
    r = _regrade(course, "--apply")
    assert r.returncode == 0 and "written as manual score" in r.stdout, r.stdout + r.stderr
    with Gradebook(url) as gb:
        assert gb.find_submission("ex01_sigmoid", "mallory").score == 0.0
        assert gb.find_submission("ex01_sigmoid", "alice").score == course_points(course, "ex01_sigmoid")


@pytest.mark.slow
def test_plain_nbgrader_is_fooled_by_a_blanking_cell_and_regrade_catches_it(ex01_course, tmp_path):
    """Autograded the plain nbgrader way (test cells judged in the student's kernel: dlgrade's
    verdict step turned off), mallory's blanked test cells earn full points; regrade fixes it."""
    course = tmp_path / "course"
    shutil.copytree(ex01_course, course)
    _nbgrader(course, "autograde", "ex01_sigmoid", "--student", "mallory", "--force",
              "--DlgradeVerdicts.enabled=False")
    _nbgrader(course, "export")
    full = course_points(course, "ex01_sigmoid")
    assert grades(course)[("ex01_sigmoid", "mallory")] == (full, full)  # the attack works there
    r = _regrade(course)
    assert r.returncode == 1 and "differs" in _verdict_lines(r)["mallory"]
    assert _regrade(course, "--apply").returncode == 0
    _nbgrader(course, "export")
    assert grades(course)[("ex01_sigmoid", "mallory")] == (0.0, full)


def test_the_tamper_proof_grade_of_a_submitted_folder(ex01_course):
    """`dlgrade check ex01 --path submitted/<student>` finds the nbgrader layout's notebook and
    agrees with the recorded points."""
    from conftest import grade_file
    g = grades(ex01_course)
    for student in ("alice", "bob", "carol", "mallory"):
        result = grade_file("ex01", ex01_course / "submitted" / student, perf=False)
        assert result.path.endswith("ex01_sigmoid/ex01_sigmoid.ipynb")
        assert result.score == g[("ex01_sigmoid", student)][0], student


@pytest.mark.slow
def test_every_exercise_through_nbgrader(tmp_path):
    """Every registered exercise (or those of ``DLGRADE_NBGRADER_EXERCISES=ex09,ex10``):
    generate_assignment, the solution scores full points and the released notebook scores zero
    through autograde and export."""
    course = tmp_path / "course"
    only = [e for e in os.environ.get("DLGRADE_NBGRADER_EXERCISES", "").split(",") if e]
    exercises = [resolve(e) for e in only] if only else all_exercises()
    build_course(course, exercises, SOLUTIONS)
    _nbgrader(course, "generate_assignment", "*")
    for ex in exercises:
        name = notebook_name(ex)
        release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
        shown = {ln.strip() for c in release.cells for ln in c.source.splitlines()}
        leaked = solution_lines((SOLUTIONS / ex.filename).read_text()) & shown
        assert not leaked, f"{ex.id}: solution code in the release notebook: {sorted(leaked)[:3]}"
        submission(course, name, "alice")
        submission(course, name, "bob", fix=False)
    _nbgrader(course, "autograde", "*")
    _nbgrader(course, "export")
    g = grades(course)
    for ex in exercises:
        name = notebook_name(ex)
        full = course_points(course, name)
        assert g[(name, "alice")] == (full, full), f"{ex.id}: the solution lost points"
        assert g[(name, "bob")] == (0.0, full), f"{ex.id}: the unsolved notebook scored"

