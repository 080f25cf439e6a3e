"""The exercise pack as a whole: solutions pass, skeletons score zero, skeletons don't drift."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, grade_file
from grader.exercises import all_exercises, resolve
from grader.skeleton import MarkerError, make_skeleton

EXERCISES = [e for e in all_exercises() if (ROOT / "solutions" / e.filename).exists()]


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_solution_gets_full_marks(ex):
    result = grade_file(ex.id, ROOT / "solutions", seed=7, perf=False)
    bad = [(c.name, c.status, c.message[:200]) for c in result.checks if c.status not in ("pass", "skip")]
    assert not bad and result.score == result.max_score > 0


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_skeleton_scores_zero_with_not_implemented_messages(ex):
    result = grade_file(ex.id, ROOT / "exercises", seed=7, perf=False)
    assert result.score == 0
    judged = [c for c in result.checks if c.kind not in ("forbidden", "performance", "signature")
              and c.status != "skip"]  # cuda_values skips without a GPU
    assert judged and all("not implemented" in c.message for c in judged), \
        [(c.name, c.message[:120]) for c in judged]
    assert not any("Traceback" in c.message for c in result.checks)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_skeleton_matches_solution(ex):
    solution = (ROOT / "solutions" / ex.filename).read_text()
    skeleton = (ROOT / "exercises" / ex.filename).read_text()
    assert skeleton == make_skeleton(solution, ex.filename), \
        "exercises/ drifted from solutions/: run `dlgrade skeletons`"
    assert "### BEGIN SOLUTION" not in skeleton


def test_every_exercise_has_a_solution_and_a_skeleton():
    for ex in all_exercises():
        assert (ROOT / "solutions" / ex.filename).exists(), ex.filename
        assert (ROOT / "exercises" / ex.filename).exists(), ex.filename


def test_marker_errors_name_the_line():
    with pytest.raises(MarkerError, match="never closed"):
        make_skeleton("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    with pytest.raises(MarkerError, match=":2: ### END SOLUTION without"):
        make_skeleton("x = 1\n### END SOLUTION\n")


def test_skeleton_keeps_todo_text():
    src = "def f():\n    # TODO: add one\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    assert "raise NotImplementedError('add one')" in make_skeleton(src)


@pytest.mark.parametrize("name", ["ex01", "ex1", "1", "sigmoid", "ex01_sigmoid", "EX01"])
def test_exercise_names(name):
    assert resolve(name).id == "ex01"


def _dlgrade(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_cli_solutions_exit_0_and_json_to_stdout():
    proc = _dlgrade("check", "ex01", "ex02", "--path", "solutions", "--seed", "5", "--json", "-",
                    "--no-perf")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # nothing but the report on stdout
    assert report["seed"] == 5 and report["score"] == report["max_score"] > 0
    assert [e["id"] for e in report["exercises"]] == ["ex01", "ex02"]
    for ex in report["exercises"]:
        for c in ex["checks"]:
            assert set(c) >= {"name", "kind", "status", "score", "max_score", "duration_s", "message"}


def test_cli_skeletons_exit_1_without_tracebacks(tmp_path):
    out = tmp_path / "r.json"
    proc = _dlgrade("check", "ex01", "--path", "exercises", "--seed", "5", "--json", str(out))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "not implemented" in proc.stdout
    assert json.loads(out.read_text())["score"] == 0


def test_cli_usage_errors_exit_2():
    assert _dlgrade("check", "ex99", "--path", "solutions").returncode == 2
    assert _dlgrade("check", "--path", "solutions").returncode == 2
    assert _dlgrade("check", "ex01", "--path", "/no/such/dir").returncode == 2


def test_cli_prints_seed_when_drawn():
    proc = _dlgrade("check", "ex01", "--path", "solutions", "--no-perf")
    assert proc.returncode == 0
    assert "seed" in proc.stdout


def test_exit_status_and_stdout_survive_the_fast_exit(tmp_path):
    """With torch loaded the command ends with os._exit after the exit hooks (torch's teardown
    costs 0.4 s): the status must still be 1 for failed checks and stdout must be complete."""
    from grader.exercises import resolve
    student = tmp_path / resolve("ex07").filename
    student.write_text((ROOT / "exercises" / resolve("ex07").filename).read_text())
    out = subprocess.run([sys.executable, "-m", "grader.cli", "check", "ex07", "--path",
                          str(tmp_path), "--no-perf", "--json", "-"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["exercises"][0]["id"] == "ex07" and report["score"] == 0


def test_ctx_exit_code_is_propagated(monkeypatch):
    """Regression: with click's standalone_mode=False a ctx.exit(n) used to end in exit 0."""
    import click
    from grader import cli as cli_module

    @cli_module.cli.command("_exit3")
    @click.pass_context
    def _exit3(ctx):
        ctx.exit(3)

    monkeypatch.setattr(sys, "argv", ["dlgrade", "_exit3"])
    try:
        with pytest.raises(SystemExit) as exc:
            cli_module.main(fast_exit=False)
        assert exc.value.code == 3
    finally:
        cli_module.cli.commands.pop("_exit3", None)
