"""`dlgrade grade-batch`: a class of generated student folders, graded in parallel workers.

The default-suite batch grades ex01 only (the exercise whose solution is sure to exist while
others are being written) for 25 students: correct (copies of solutions/ and the correct variants
in autotests/submissions/ex01), buggy (every other variant there), empty, skeleton-only, and
hostile (exits at import, loops at import, loops in a call, os._exit in a call, segfaults, prints
CI workflow commands, has a FIFO and a symlink to /dev/zero in its folder, does not parse).
Every CSV row is checked, against the engine's own verdict where the expectation is a score.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, SUBMISSIONS

SOLUTION = ROOT / "solutions" / "ex01_sigmoid.py"
FILE = "ex01_sigmoid.py"
SEED = 20240601
#: Words of the engine's time-limit verdicts; with this test's 1 s call limit a slow-but-working
#: variant (a Python loop per element) can hit them on a loaded machine and not on an idle one.
TIME_LIMIT_MESSAGES = ("did not finish within", "time budget")

HOSTILE = {
    "h_exit_at_import": ("import sys\nsys.exit(3)\n", "sys.exit"),
    "h_loop_at_import": ("while True:\n    pass\n", "did not finish within 1 s"),
    "h_loop_in_call": ("def sigmoid(z):\n    while True:\n        pass\n\n\n"
                       "def sigmoid_grad(z):\n    while True:\n        pass\n", "did not finish"),
    "h_os_exit_in_call": ("import os\n\n\ndef sigmoid(z):\n    os._exit(0)\n\n\n"
                          "def sigmoid_grad(z):\n    os._exit(0)\n", "exited with status 0"),
    "h_segfault": ("import ctypes\n\n\ndef sigmoid(z):\n    return ctypes.string_at(0)\n\n\n"
                   "def sigmoid_grad(z):\n    return ctypes.string_at(0)\n", "SIGSEGV"),
    "h_syntax_error": ("def sigmoid(z)\n    return z\n", "SyntaxError"),
}
PRINTS_COMMANDS = ('print("::error file=x::pwned at import")\nprint("##[error]legacy")\n'
                   + SOLUTION.read_text().replace(
                       "def sigmoid(z", 'print("::warning::at def")\n\n\ndef sigmoid(z', 1))


def _student(root: Path, name: str, source: str | None, at_root: bool = False) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if source is not None:
        target = folder / FILE if at_root else folder / "exercises" / FILE
        target.parent.mkdir(exist_ok=True)
        target.write_text(source)
    return folder


def make_class(root: Path) -> dict[str, dict]:
    """Write the student folders; returns name -> expectation."""
    expect: dict[str, dict] = {}
    _student(root, "c_solution", SOLUTION.read_text())
    _student(root, "c_solution_at_root", SOLUTION.read_text(), at_root=True)
    expect["c_solution"] = expect["c_solution_at_root"] = {"status": "pass"}
    for path in sorted((SUBMISSIONS / "ex01").glob("*.py")):
        header = []
        for line in path.read_text().splitlines():
            if not line.startswith("#"):
                break
            header.append(line.strip())
        full = "# expect: full" in header
        name = ("c_" if full else "b_") + path.stem
        _student(root, name, path.read_text())
        expect[name] = {"status": "pass"} if full else {"same_as_engine": path}
    _student(root, "e_empty", None)
    readme = _student(root, "e_unrelated_files", None)
    (readme / "README.md").write_text("# my work\n")
    (readme / "notes.py").write_text("x = 1\n")
    expect["e_empty"] = expect["e_unrelated_files"] = {"status": "error",
                                                       "errors": "no file ex01_sigmoid.py"}
    _student(root, "e_skeleton", (ROOT / "exercises" / FILE).read_text())
    expect["e_skeleton"] = {"status": "error", "errors": "not implemented"}
    for name, (src, fragment) in HOSTILE.items():
        _student(root, name, src)
        expect[name] = {"status": "error", "errors": fragment}
    _student(root, "h_prints_commands", PRINTS_COMMANDS)
    expect["h_prints_commands"] = {"same_as_engine_source": PRINTS_COMMANDS}
    odd = _student(root, "h_fifo_and_symlink", SOLUTION.read_text())
    os.mkfifo(odd / "pipe")
    (odd / "zero").symlink_to("/dev/zero")
    (odd / "loop").symlink_to(odd)
    expect["h_fifo_and_symlink"] = {"status": "pass"}
    (root / ".hidden").mkdir()           # not a student
    (root / "stray_file.txt").write_text("not a student either")
    return expect


@pytest.fixture(scope="module")
def limits():
    from grader.runner.process import Limits
    return Limits(call_timeout_s=1.0, budget_s=3.0)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, limits):
    from rich.console import Console

    from grader.batch import BatchOptions, run_batch
    from grader.exercises import resolve
    tmp = tmp_path_factory.mktemp("batch")
    subs = tmp / "submissions"
    expect = make_class(subs)
    log = tmp / "log.txt"
    # perf off: timings are never part of a unit test's verdict.
    opts = BatchOptions(exercises=[resolve("ex01")], seed=SEED, seed_given=True, jobs=2,
                        limits=limits, perf=False)
    with open(log, "w") as fh:
        console = Console(file=fh, width=200, force_terminal=False)
        summary = run_batch(subs, tmp / "grades.csv", opts, console=console)
    return {"tmp": tmp, "subs": subs, "expect": expect, "summary": summary, "opts": opts,
            "log": log.read_text()}


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_batch_has_every_student_and_a_row_each(batch):
    assert len(batch["expect"]) >= 20
    rows = _rows(batch["tmp"] / "grades.csv")
    assert [r["student"] for r in rows] == sorted(batch["expect"])
    assert not batch["summary"].interrupted and not batch["summary"].skipped
    from grader.batch import columns
    from grader.exercises import resolve
    assert list(rows[0].keys()) == columns([resolve("ex01")])


def test_every_row_is_what_the_engine_says(batch, limits):
    from grader.engine import Options, grade
    from grader.exercises import resolve
    ex = resolve("ex01")
    rows = {r["student"]: r for r in _rows(batch["tmp"] / "grades.csv")}
    for name, exp in batch["expect"].items():
        row = rows[name]
        # perf is off in this batch: skipped checks count toward neither score nor max_score
        report = json.loads((batch["tmp"] / row["report"]).read_text())
        judged = [c for c in report["exercises"][0]["checks"] if c["status"] != "skip"]
        assert row["seed"] == str(SEED) and row["max_score"] == f"{report['max_score']:g}"
        assert 0 < report["max_score"] <= ex.max_score
        assert row["ex01"] == row["score"]
        assert int(row["checks_passed"]) + int(row["checks_not_passed"]) == len(judged)
        if "status" in exp:
            assert row["status"] == exp["status"], (name, row)
        if exp.get("status") == "pass":
            assert row["score"] == row["max_score"] and row["errors"] == ""
        if "errors" in exp:
            assert exp["errors"].lower() in row["errors"].lower(), (name, row["errors"])
            assert row["errors"].startswith("ex01: ")
            assert row["score"] == "0" or name in ("e_skeleton",), (name, row)
        source = exp.get("same_as_engine_source")
        if "same_as_engine" in exp:
            source = exp["same_as_engine"].read_text()
        if source is not None:
            repo = batch["tmp"] / "direct" / name
            (repo / "exercises").mkdir(parents=True)
            (repo / "exercises" / FILE).write_text(source)
            direct = grade([ex], repo, Options(seed=SEED, limits=limits, perf=False))
            messages = row["errors"] + " ".join(c.message for e in direct.exercises for c in e.checks)
            if any(m in messages for m in TIME_LIMIT_MESSAGES):
                continue  # a slow variant near this test's tight limits: load decides, not code
            assert row["score"] == f"{direct.score:g}", (name, row)
            # pass must agree exactly; between fail and error a hostile variant (one that forks,
            # say) can tip with the machine's load, the score (0 either way) cannot.
            want = "pass" if direct.passed else ("fail", "error")
            assert row["status"] in want if isinstance(want, tuple) else row["status"] == want, \
                (name, row)


def test_per_student_json_reports_match_the_rows(batch):
    rows = _rows(batch["tmp"] / "grades.csv")
    for row in rows:
        path = batch["tmp"] / row["report"]
        data = json.loads(path.read_text())
        assert data["student"] == row["student"] and data["fingerprint"] == row["fingerprint"]
        assert f"{data['score']:g}" == row["score"] and data["seed"] == SEED
        assert [e["id"] for e in data["exercises"]] == ["ex01"]


def test_log_and_csv_are_neutralised(batch):
    for line in batch["log"].splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line
    text = (batch["tmp"] / "grades.csv").read_text()
    for line in text.splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line
    assert "students" in batch["log"] or "h_prints_commands" in batch["log"]


def test_rerun_skips_unchanged_students_and_regrades_changed_ones(batch):
    from grader.batch import run_batch
    from rich.console import Console
    csv_path = batch["tmp"] / "grades.csv"
    before = {r["student"]: r for r in _rows(csv_path)}
    console = Console(file=open(os.devnull, "w"), force_terminal=False)
    again = run_batch(batch["subs"], csv_path, batch["opts"], console=console)
    assert again.graded == [] and sorted(again.skipped) == sorted(before)
    assert {r["student"]: r for r in _rows(csv_path)} == before
    # One student fixes their code: only that one is graded again.
    fixed = batch["subs"] / "b_sign_error" / "exercises" / FILE
    original = fixed.read_text()
    fixed.write_text(SOLUTION.read_text())
    try:
        third = run_batch(batch["subs"], csv_path, batch["opts"], console=console)
    finally:
        fixed.write_text(original)
    assert third.graded == ["b_sign_error"]
    after = {r["student"]: r for r in _rows(csv_path)}
    assert after["b_sign_error"]["status"] == "pass"
    assert after["b_sign_error"]["fingerprint"] != before["b_sign_error"]["fingerprint"]
    assert {k: v for k, v in after.items() if k != "b_sign_error"} == \
        {k: v for k, v in before.items() if k != "b_sign_error"}


def test_force_and_a_new_seed_grade_again(tmp_path, limits):
    from dataclasses import replace

    from rich.console import Console

    from grader.batch import BatchOptions, run_batch
    from grader.exercises import resolve
    _student(tmp_path / "s", "a", SOLUTION.read_text())
    _student(tmp_path / "s", "b", (SUBMISSIONS / "ex01" / "sign_error.py").read_text())
    console = Console(file=open(os.devnull, "w"), force_terminal=False)
    opts = BatchOptions(exercises=[resolve("ex01")], seed=1, seed_given=True, jobs=1,
                        limits=limits, perf=False)
    csv_path = tmp_path / "g.csv"
    assert run_batch(tmp_path / "s", csv_path, opts, console=console).graded == ["a", "b"]
    assert run_batch(tmp_path / "s", csv_path, opts, console=console).graded == []
    assert run_batch(tmp_path / "s", csv_path, replace(opts, force=True),
                     console=console).graded == ["a", "b"]
    # A random (not chosen) seed does not invalidate finished rows; a chosen, different one
    # does (checked without grading: an empty exercise list makes no tasks... so compare rows).
    assert run_batch(tmp_path / "s", csv_path, replace(opts, seed=3, seed_given=False),
                     console=console).graded == []
    from grader.batch import read_rows
    assert {r["seed"] for r in read_rows(csv_path).values()} == {"1"}


def test_a_resumed_batch_keeps_its_seed(tmp_path, limits):
    """Regression: a batch run without --seed drew a fresh seed on every run, so a resumed
    batch graded its remaining students on other inputs than the first ones. The batch's
    first run records its seed; later runs (also with another default) keep it."""
    from dataclasses import replace

    from rich.console import Console

    from grader.batch import BatchOptions, run_batch
    from grader.exercises import resolve
    subs = tmp_path / "s"
    _student(subs, "a", SOLUTION.read_text())
    console = Console(file=open(os.devnull, "w"), force_terminal=False)
    opts = BatchOptions(exercises=[resolve("ex01")], seed=None, jobs=1, limits=limits, perf=False)
    first = run_batch(subs, tmp_path / "g.csv", opts, console=console)
    state = json.loads((tmp_path / "g-reports" / ".batch.json").read_text())
    assert state["seed"] == first.seed
    _student(subs, "b", SOLUTION.read_text())  # a student handed in late, or not reached
    again = run_batch(subs, tmp_path / "g.csv", replace(opts, seed=first.seed + 1), console=console)
    assert again.graded == ["b"] and again.seed == first.seed
    rows = {r["student"]: r for r in _rows(tmp_path / "g.csv")}
    assert rows["a"]["seed"] == rows["b"]["seed"] == str(first.seed)
    # A chosen seed wins, regrades the rows graded with another one, and becomes the batch's.
    chosen = run_batch(subs, tmp_path / "g.csv", replace(opts, seed=7, seed_given=True),
                       console=console)
    assert sorted(chosen.graded) == ["a", "b"] and chosen.seed == 7
    assert run_batch(subs, tmp_path / "g.csv", opts, console=console).seed == 7
    # A CSV from before the seed was recorded: its rows' seed is the batch's.
    (tmp_path / "g-reports" / ".batch.json").unlink()
    assert run_batch(subs, tmp_path / "g.csv", opts, console=console).seed == 7


def test_a_dying_or_overrunning_worker_costs_one_exercise_not_the_batch(tmp_path):
    """The backstop: an exercise that overruns is killed with its whole process tree; that
    exercise is a grader-error, the student's other exercises are graded by a fresh worker."""
    from rich.console import Console

    from grader.batch import BatchOptions, run_batch
    from grader.exercises import resolve
    from grader.runner.process import Limits
    adagrad = (ROOT / "solutions" / "ex03_adagrad.py").read_text()
    hangs = _student(tmp_path / "s", "a_hangs", HOSTILE["h_loop_in_call"][0])
    (hangs / "exercises" / "ex03_adagrad.py").write_text(adagrad)
    fine = _student(tmp_path / "s", "b_fine", SOLUTION.read_text())
    (fine / "exercises" / "ex03_adagrad.py").write_text(adagrad)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    opts = BatchOptions(exercises=[resolve("ex01"), resolve("ex03")], seed=1, jobs=1,
                        task_timeout_s=3.0, perf=False,
                        limits=Limits(call_timeout_s=30.0, budget_s=60.0))
    summary = run_batch(tmp_path / "s", tmp_path / "g.csv", opts,
                        console=Console(file=open(os.devnull, "w")))
    rows = {r["student"]: r for r in _rows(tmp_path / "g.csv")}
    assert rows["a_hangs"]["status"] == "grader-error"
    assert "longer than 3 s" in rows["a_hangs"]["errors"]
    assert rows["a_hangs"]["ex01"] == "0" and float(rows["a_hangs"]["ex03"]) > 0
    assert rows["a_hangs"]["ex03"] == rows["b_fine"]["ex03"]
    assert rows["b_fine"]["status"] == "pass"
    assert summary.grader_errors == ["a_hangs"]
    time.sleep(0.2)
    from multiprocessing import forkserver, resource_tracker
    ours = {getattr(resource_tracker._resource_tracker, "_pid", None),  # started by spawn
            getattr(forkserver._forkserver, "_forkserver_pid", None)}
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before - ours
    alive = [p for p in left if psutil.pid_exists(p)
             and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, [psutil.Process(p).cmdline() for p in alive]


def test_partial_rows_from_an_interruption_are_dropped(tmp_path):
    from grader.batch import read_rows
    path = tmp_path / "g.csv"
    path.write_text("student,status,score\nalice,pass,12\nbob,pa")
    assert list(read_rows(path)) == ["alice"]
    assert read_rows(tmp_path / "missing.csv") == {}


def test_cells_cannot_be_spreadsheet_formulas():
    from grader.batch import _cell
    assert _cell("=HYPERLINK(\"x\")").startswith("'=")
    assert _cell("@SUM(A1)").startswith("'@")
    assert _cell("::error::x\nnext") == "» ::error::x | next"


def test_folder_hash_sees_content_not_noise(tmp_path):
    from grader.batch import folder_hash
    s = _student(tmp_path, "s", "x = 1\n")
    h0 = folder_hash(s)
    (s / "__pycache__").mkdir()
    (s / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    (s / ".git").mkdir()
    (s / ".git" / "HEAD").write_text("ref")
    assert folder_hash(s) == h0
    (s / "exercises" / FILE).write_text("x = 2\n")
    assert folder_hash(s) != h0


def test_cli_exit_codes_and_usage(tmp_path):
    subs = tmp_path / "subs"
    _student(subs, "a", SOLUTION.read_text())
    cmd = [sys.executable, "-m", "grader.cli", "grade-batch"]
    proc = subprocess.run([*cmd, str(subs), "-e", "ex01", "--csv", str(tmp_path / "g.csv"),
                           "-j", "1", "--seed", "3", "--no-perf"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    from grader.exercises import resolve
    total = sum(c.points for c in resolve("ex01").checks if c.kind != "performance")
    assert f"a: pass {total:g}/{total:g}" in proc.stderr and "1 pass" in proc.stderr
    bad = subprocess.run([*cmd, str(subs), "-e", "ex99", "--csv", str(tmp_path / "g.csv")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown exercise" in bad.stderr
    missing = subprocess.run([*cmd, str(tmp_path / "nope")], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode == 2


def test_cli_grades_with_the_course_configuration_not_the_submissions(tmp_path):
    """grade-batch reads dlgrade.toml from the current directory (points, limits), as `check`
    does; a dlgrade.toml inside a student's folder changes nothing."""
    subs = tmp_path / "subs"
    student = _student(subs, "a", SOLUTION.read_text())
    (student / "dlgrade.toml").write_text("[exercises.ex01]\npoints = { signature = 1000 }\n")
    course = tmp_path / "course"
    course.mkdir()
    (course / "dlgrade.toml").write_text("[exercises.ex01]\npoints = { sigmoid_values = 30 }\n"
                                         "[batch.slurm]\nstudents_per_task = 3\n")
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "grade-batch", str(subs), "-e",
                           "ex01", "-j", "1", "--no-perf", "--csv", str(tmp_path / "g.csv")],
                          capture_output=True, text=True, timeout=300, cwd=course)
    assert proc.returncode == 0, proc.stderr
    from grader.exercises import resolve
    base = sum(c.points for c in resolve("ex01").checks if c.kind != "performance")
    row = _rows(tmp_path / "g.csv")[0]
    assert row["max_score"] == f"{base - 3 + 30:g}" == row["score"], row
    (course / "dlgrade.toml").write_text("[batch.slurm]\ntime = 'long'\n")
    bad = subprocess.run([sys.executable, "-m", "grader.cli", "grade-batch", str(subs), "-e",
                          "ex01", "--csv", str(tmp_path / "g.csv")], capture_output=True,
                         text=True, timeout=120, cwd=course)
    assert bad.returncode == 2 and "[batch.slurm] time must be a positive number" in bad.stderr


def test_interrupted_batch_keeps_finished_rows_and_resumes(tmp_path):
    """Ctrl-C in the middle: exit 130, finished rows on disk, a re-run grades only the rest,
    with the seed the first run drew (no --seed given)."""
    subs = tmp_path / "subs"
    for i in range(2):
        _student(subs, f"a{i}_fast", SOLUTION.read_text())
    for i in range(2):
        _student(subs, f"z{i}_slow", HOSTILE["h_loop_at_import"][0])
    csv_path = tmp_path / "g.csv"
    cmd = [sys.executable, "-m", "grader.cli", "grade-batch", str(subs), "-e", "ex01", "-j", "1",
           "--csv", str(csv_path), "--call-timeout", "1", "--no-progress", "--no-perf"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if csv_path.exists() and len(_rows(csv_path)) >= 2:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    done = {r["student"]: r for r in _rows(csv_path)}
    assert {"a0_fast", "a1_fast"} <= set(done) and len(done) < 4
    assert all(r["status"] in ("pass", "error") for r in done.values())
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    final = {r["student"]: r for r in _rows(csv_path)}
    assert sorted(final) == ["a0_fast", "a1_fast", "z0_slow", "z1_slow"]
    assert f"unchanged {len(done)}" in proc.stderr
    for name, row in done.items():
        assert final[name] == row
    assert len({r["seed"] for r in final.values()}) == 1, final
    shutil.rmtree(subs)
