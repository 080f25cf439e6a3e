"""Points only for demonstrated work, a max_score that never moves, a crash shown once, and a
reproduce command that reproduces (issue 12, items 4, 5 and 9).

Regressions: on main an LSTM returning None earned 2 of 20 (inputs_untouched and the forbidden
check), sigmoid, Adagrad and Xavier modules returning None earned points too; a missing file got
143 points of max_score for ``--all`` where a correct submission got 137 (CUDA checks and, with
``--no-perf``, performance checks counted as errors instead of skips); the same traceback was
printed in every check's row; the reproduce line left out ``--path`` and ``--no-perf``.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT, grade_file
from grader import rules
from grader.exercises import all_exercises

EXERCISES = [e for e in all_exercises() if (ROOT / "solutions" / e.filename).exists()]


def _stub(ex, body: str) -> str:
    """A module defining every function of ``ex`` with ``body`` (every parameter defaulted)."""
    out = ["import numpy as np", ""]
    for f in ex.functions:
        out += [f"def {f.name}({', '.join(p + '=None' for p in f.params)}):", f"    {body}", ""]
    return "\n".join(out)


def _expected_max(ex, perf: bool) -> float:
    return float(sum(c.points for c in ex.checks
                     if rules.skip_reason(c, ex, "cpu", perf) is None))


def _graded(ex, tmp_path, name: str, text: str | None, perf: bool = False):
    folder = tmp_path / name
    folder.mkdir()
    if text is not None:
        (folder / ex.filename).write_text(text)
    return grade_file(ex.id, folder, perf=perf)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_unimplemented_scores_zero_and_max_score_never_moves(ex, tmp_path):
    solution = grade_file(ex.id, ROOT / "solutions", seed=3, perf=False)
    assert solution.score == solution.max_score == _expected_max(ex, False)
    cases = {
        "skeleton": (ROOT / "exercises" / ex.filename).read_text(),
        "returns None": _stub(ex, "return None"),
        "pass": _stub(ex, "pass"),
        "missing file": None,
        "import error": "import a_module_that_does_not_exist_anywhere\n" + _stub(ex, "return 0"),
    }
    for name, text in cases.items():
        result = _graded(ex, tmp_path, name.replace(" ", "_"), text)
        table = [(c.name, c.status, c.message[:90]) for c in result.checks]
        assert result.score == 0, (name, table)
        assert result.max_score == solution.max_score, (name, table)
    # with performance checks on, a file that cannot run still has the same max_score
    for name in ("missing file", "import error"):
        result = _graded(ex, tmp_path, "perf_" + name.replace(" ", "_"), cases[name], perf=True)
        assert result.max_score == _expected_max(ex, True), name


def test_all_exercises_of_a_missing_repository_have_the_solutions_max_score(tmp_path):
    from grader.engine import Options, grade
    missing = grade(EXERCISES, tmp_path, Options(seed=1, perf=False))
    assert missing.score == 0
    assert missing.max_score == sum(_expected_max(e, False) for e in EXERCISES)


def test_a_property_passes_only_for_functions_shown_right(tmp_path):
    """An identity 'sigmoid' never changes its input: its inputs_untouched pass is not earned."""
    (tmp_path / "ex01_sigmoid.py").write_text("def sigmoid(z):\n    return z + 0.0\n\n"
                                              "def sigmoid_grad(z):\n    return z * 0.0\n")
    result = {c.name: c for c in grade_file("ex01", tmp_path, perf=False).checks}
    assert result["inputs_untouched"].status == "fail"
    assert "did not pass its correctness checks" in result["inputs_untouched"].message
    assert result["no_forbidden_calls"].status == "fail"


def test_a_fast_but_partly_wrong_function_earns_no_speed_point(tmp_path):
    """Issue 11, class 5: epsilon inside the square root passes the default-step checks and is as
    fast as the reference, yet fails large_epsilon: its performance pass is not earned. The
    correct solution keeps it (the rule is not a blanket fail)."""
    wrong = (ROOT / "autotests" / "submissions" / "ex03" / "eps_inside_sqrt.py").read_text()
    (tmp_path / "ex03_adagrad.py").write_text(wrong)
    result = {c.name: c for c in grade_file("ex03", tmp_path, perf=True).checks}
    assert any(c.status == "pass" for c in result.values() if c.kind == "value")
    assert result["large_epsilon"].status == "fail"
    assert result["performance"].status == "fail"
    assert "did not pass its correctness checks (every one" in result["performance"].message
    right = tmp_path / "right"
    right.mkdir()
    (right / "ex03_adagrad.py").write_text((ROOT / "solutions" / "ex03_adagrad.py").read_text())
    assert {c.name: c for c in grade_file("ex03", right, perf=True).checks}["performance"].status \
        == "pass"


def test_a_crash_is_shown_once_with_the_students_frames(tmp_path):
    (tmp_path / "ex01_sigmoid.py").write_text(
        "import numpy as np\n\n\ndef _helper(z):\n    return z.no_such_attribute\n\n\n"
        "def sigmoid(z):\n    return _helper(z)\n\n\ndef sigmoid_grad(z):\n    return _helper(z)\n")
    checks = grade_file("ex01", tmp_path, perf=False).checks
    crashed = [c for c in checks if c.status == "error"]
    assert len(crashed) >= 4
    with_traceback = [c for c in crashed if "Traceback" in c.message]
    assert [c.name for c in with_traceback] == [crashed[0].name]
    assert "_helper" in with_traceback[0].message and "line 5" in with_traceback[0].message
    for c in crashed[1:]:
        assert f"raised the same AttributeError as in {crashed[0].name}" in c.message, c.message
        assert c.message.startswith("sigmoid") and "no_such_attribute" in c.message
        assert "line 5, in _helper" in c.message and "Traceback" not in c.message
    # a check whose only finding was the crash says which of its inputs it was judging
    stability = next(c for c in crashed if c.name == "stability")
    assert "(while judging sigmoid on large |z|)" in stability.message.split("\n", 1)[0]


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_pasting_the_reproduce_command_gives_the_same_scores(tmp_path):
    """The JSON report's reproduce command (also shown in the terminal, the Gradescope output,
    the step summary and every failing check) repeats path, --no-perf, device and exercises: run
    as printed, it gives the same scores."""
    repo = tmp_path / "student"
    (repo / "exercises").mkdir(parents=True)
    (repo / "exercises" / "ex01_sigmoid.py").write_text(
        (ROOT / "autotests" / "submissions" / "ex01" / "naive_overflow.py").read_text())
    (repo / "exercises" / "ex04_dropout.py").write_text(
        (ROOT / "autotests" / "submissions" / "ex04" / "no_scaling.py").read_text())
    first = _cli("check", "ex01", "ex04", "--path", "student", "--no-perf", "--json", "a.json",
                 "--gradescope", "gs.json", cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    report = json.loads((tmp_path / "a.json").read_text())
    command = report["reproduce"]
    assert command.startswith("dlgrade check ex01 ex04 --seed ") and "--no-perf" in command
    assert "--path student" in command
    assert command in " ".join(first.stdout.split())           # the terminal's Reproduce line
    assert command in json.loads((tmp_path / "gs.json").read_text())["output"]
    for ex in report["exercises"]:
        assert ex["reproduce"].startswith(f"dlgrade check {ex['id']} --seed {report['seed']}")
        for c in ex["checks"]:
            if c["status"] in ("fail", "error") and "reproduce:" in c["message"]:
                assert c["message"].endswith(ex["reproduce"])
    args = shlex.split(command)[2:] + ["--json", "b.json"]
    again = _cli("check", *args, cwd=tmp_path)
    assert again.returncode == 1, again.stderr
    second = json.loads((tmp_path / "b.json").read_text())
    assert [(e["id"], e["score"], e["max_score"]) for e in second["exercises"]] == \
        [(e["id"], e["score"], e["max_score"]) for e in report["exercises"]]
    assert [c["status"] for e in second["exercises"] for c in e["checks"]] == \
        [c["status"] for e in report["exercises"] for c in e["checks"]]


def test_summary_and_notebook_feedback_repeat_the_command():
    from grader.nbgrader.runtime import verdict
    from grader.report.summary import annotations, markdown
    from grader.results import CheckResult, ExerciseResult, Report
    ex = ExerciseResult("ex04", "dropout", "nb.ipynb", reproduce="dlgrade check ex04 --seed 5 "
                        "--path nb.ipynb --no-perf")
    ex.checks = [CheckResult("backward", "gradient", "fail", 0.0, 1.5, message="dx is wrong")]
    report = Report(seed=5, device="cpu", exercises=[ex], reproduce=ex.reproduce)
    assert ex.reproduce in markdown(report)
    assert any(ex.reproduce in a for a in annotations(report))
    cell = verdict(report.to_dict(), "ex04", "backward", "nb.ipynb")
    # the notebook's name as the student knows it, the seed, and the run's --no-perf
    assert not cell.passed
    assert "dlgrade check ex04 --path nb.ipynb --seed 5 --no-perf" in cell.message
