"""Bad input: each mistake gets a clear one-line message and the rest of the work is still done.

The student's mistakes (a missing file, a syntax error, a missing function, wrong parameter names,
the wrong number or type of return values, None, NaN or inf, the wrong dtype or device) are
failures of the exercise concerned: its checks say what is wrong in their first line, the other
exercises are graded, and the exit status is 1. The instructor's or the caller's mistakes (an
unknown exercise id, a report path that cannot be written, a corrupt course configuration) are
wrong use: exit status 2 with one line saying what to fix, and no traceback.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, grade_file

SOLUTIONS = ROOT / "solutions"


def dlgrade(*args, cwd=None) -> subprocess.CompletedProcess:
    """The real command line, as a student runs it."""
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200"))


def repo(tmp_path, files: dict[str, str]) -> Path:
    """A student repository with ``exercises/<name>`` holding each text."""
    (tmp_path / "exercises").mkdir(exist_ok=True)
    for name, text in files.items():
        (tmp_path / "exercises" / name).write_text(textwrap.dedent(text))
    return tmp_path


def solution(name: str) -> str:
    return (SOLUTIONS / name).read_text()


def first_line(message: str) -> str:
    return message.split("\n")[0]


def checks(result) -> dict:
    return {c.name: c for c in result.checks}


# -- the student's mistakes ------------------------------------------------------------------
def test_missing_exercise_file_is_reported_and_the_rest_graded(tmp_path):
    path = repo(tmp_path, {"ex02_backprop.py": solution("ex02_backprop.py")})
    r = dlgrade("check", "ex01", "ex02", "--path", str(path), "--seed", "3", "--json", "-")
    assert r.returncode == 1, r.stderr[-2000:]
    report = json.loads(r.stdout)
    ex01, ex02 = report["exercises"]
    assert ex02["score"] == ex02["max_score"] > 0
    assert ex01["score"] == 0 and {c["status"] for c in ex01["checks"]} == {"error"}
    msg = ex01["checks"][0]["message"]
    assert msg == first_line(msg)
    assert "no file ex01_sigmoid.py found" in msg and "looked in exercises/ and at the root" in msg


def test_syntax_error_shows_the_students_own_traceback(tmp_path):
    path = repo(tmp_path, {"ex01_sigmoid.py": """\
        import numpy as np


        def sigmoid(z)
            return 1 / (1 + np.exp(-z))
        """})
    result = grade_file("ex01", path)
    msg = checks(result)["sigmoid_values"].message
    assert first_line(msg) == ("your module failed to import: SyntaxError: expected ':' "
                               "(ex01_sigmoid.py, line 4)")
    assert 'ex01_sigmoid.py", line 4' in msg and "def sigmoid(z)" in msg and "^" in msg
    assert "grader" not in msg and "worker.py" not in msg  # the student's traceback only
    assert result.score == 0


def test_missing_function_names_it_and_grades_the_other(tmp_path):
    text = solution("ex01_sigmoid.py").replace("def sigmoid_grad(", "def sigmoid_gradient(")
    result = grade_file("ex01", repo(tmp_path, {"ex01_sigmoid.py": text}))
    c = checks(result)
    assert c["signature"].status == "fail"
    assert first_line(c["signature"].message).startswith("`sigmoid_grad` is missing")
    assert c["sigmoid_grad_values"].status == "error"
    assert first_line(c["sigmoid_grad_values"].message) == (
        "your module has no function named `sigmoid_grad` (check the spelling and indentation)")
    assert c["sigmoid_values"].status == "pass"  # the rest of the work is done


def test_wrong_argument_names(tmp_path):
    text = textwrap.dedent("""\
        import numpy as np


        def sigmoid(x):
            e = np.exp(-np.abs(x))
            return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


        def sigmoid_grad(z):
            s = sigmoid(z)
            return s * (1 - s)
        """)
    result = grade_file("ex01", repo(tmp_path, {"ex01_sigmoid.py": text}))
    msg = checks(result)["signature"].message
    assert checks(result)["signature"].status == "fail"
    assert "`sigmoid(x)` should be `sigmoid(z)`" in first_line(msg)
    assert checks(result)["sigmoid_values"].status == "pass"


ARITY = {
    "returns_one_value": ("return out", "affine_forward returned an array; it must return a tuple"),
    "returns_three_values": ("return out, cache, None",
                             "affine_forward returned 3 values; it must return 2"),
    "returns_a_list": ("return [out.tolist(), cache]", "list"),
}


@pytest.mark.parametrize("case", sorted(ARITY))
def test_wrong_return_arity_or_type(tmp_path, case):
    replacement, expected = ARITY[case]
    text = solution("ex02_backprop.py")
    assert "    return out, cache\n" in text
    text = text.replace("    return out, cache\n", f"    {replacement}\n", 1)
    result = grade_file("ex02", repo(tmp_path, {"ex02_backprop.py": text}))
    c = checks(result)
    assert c["affine_forward"].status in ("fail", "error")
    assert expected.lower() in first_line(c["affine_forward"].message).lower(), c["affine_forward"].message
    assert c["relu_forward"].status == "pass"  # the rest of the work is done
    assert result.score < result.max_score


BAD_VALUES = {
    "none": ("return None", "sigmoid returned None as the output. Hint: a missing `return` statement?"),
    "nan": ("return np.full(z.shape, np.nan)", "sigmoid: the output contains nan at index"),
    "inf": ("return np.full(z.shape, np.inf)", "sigmoid: the output contains inf at index"),
    "float32": ("return (1 / (1 + np.exp(-z))).astype(np.float32)",
                "sigmoid: the output has dtype float32, expected float64"),
    "int": ("return 1", "sigmoid returned a int as the output, expected an array"),
    "object_array": ("return np.array([object()] * z.size).reshape(z.shape)",
                     "sigmoid returned a ndarray as the output, expected an array"),
    "float128": ("return np.zeros(z.shape, dtype=np.longdouble)",
                 "sigmoid raised UnsupportedReturn: arrays of dtype float128 cannot be exchanged"),
}


def test_a_batch_stops_at_its_first_unencodable_result_and_keeps_forbidden_marks():
    """The worker encodes a batch's answer once; when a result cannot be encoded the answer ends
    at it (an UnsupportedReturn error), as if the batch had stopped there, and a forbidden
    module found after the batch still marks what the grader reads last."""
    from grader.runner import codec, worker
    ok = {"ok": True, "value": np.ones(2), "warnings": []}
    bad = {"ok": True, "value": np.zeros(2, dtype=np.longdouble), "warnings": []}
    answer = codec.decode(worker._batch_answer([dict(ok), dict(bad), dict(ok)], [], []))
    results = answer["results"]
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["error"]["type"] == "UnsupportedReturn"
    answer = codec.decode(worker._batch_answer([dict(ok), dict(ok)], ["import of torch"], []))
    assert "forbidden" not in answer["results"][0]
    assert answer["results"][1]["forbidden"] == ["import of torch"]
    answer = codec.decode(worker._batch_answer([dict(ok), dict(bad), dict(ok)],
                                               ["import of torch"], []))
    assert answer["results"][1]["forbidden"] == ["import of torch"]


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_return_values(tmp_path, case):
    body, expected = BAD_VALUES[case]
    text = f"""\
        import numpy as np


        def sigmoid(z):
            {body}


        def sigmoid_grad(z):
            e = np.exp(-np.abs(z))
            s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
            return s * (1 - s)
        """
    result = grade_file("ex01", repo(tmp_path, {"ex01_sigmoid.py": text}))
    c = checks(result)
    assert c["sigmoid_values"].status in ("fail", "error")
    assert expected.lower() in first_line(c["sigmoid_values"].message).lower(), c["sigmoid_values"].message
    assert c["sigmoid_grad_values"].status == "pass"  # the rest of the work is done
    if case in ("nan", "inf"):  # right type, shape and dtype: the values are judged elsewhere
        assert c["signature"].status == "pass", c["signature"].message


def test_tensor_on_the_wrong_device():
    """The device judgement torch exercises use (a CUDA machine is not needed to test it)."""
    from grader.checks.compare import expect_array
    from grader.runner.codec import Tensor
    from grader.spec import Fail
    got = Tensor(np.zeros((2, 3)), "cpu")
    with pytest.raises(Fail) as exc:
        expect_array(got, fn="conv_forward", what="out", shape=(2, 3), device="cuda")
    assert first_line(str(exc.value)).startswith(
        "conv_forward returned out on device 'cpu', but the input was on 'cuda'")
    with pytest.raises(Fail, match="returned a numpy array as out; return a torch.Tensor"):
        expect_array(np.zeros((2, 3)), fn="conv_forward", what="out", shape=(2, 3), device="cpu")


def test_notebook_that_is_not_json(tmp_path):
    bad = tmp_path / "ex01_sigmoid.ipynb"
    bad.write_text('{"cells": [}')
    r = dlgrade("check", "ex01", "--path", str(bad), "--seed", "3")
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "not a valid notebook" in ln]
    assert r.returncode == 1 and len(lines) == 1, r.stdout + r.stderr
    assert "invalid JSON at line 1" in lines[0] and "Traceback" not in r.stdout + r.stderr
    # In a repository, the other exercises are still graded.
    (tmp_path / "repo").mkdir()
    path = repo(tmp_path / "repo", {"ex02_backprop.py": solution("ex02_backprop.py")})
    shutil.move(bad, path / "exercises" / bad.name)
    r = dlgrade("check", "ex01", "ex02", "--path", str(path), "--seed", "3", "--json", "-")
    report = json.loads(r.stdout)
    assert r.returncode == 1
    ex01, ex02 = report["exercises"]
    assert ex02["score"] == ex02["max_score"] > 0 and ex01["score"] == 0
    assert "invalid JSON at line 1" in first_line(ex01["checks"][0]["message"])


# -- the caller's mistakes: exit status 2, one line, nothing half-done -------------------------
def _one_line_error(r: subprocess.CompletedProcess, text: str) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "Traceback" not in out
    assert len([ln for ln in out.splitlines() if text in ln]) == 1, out


def test_unknown_exercise_id(tmp_path):
    r = dlgrade("check", "ex01", "ex99", "--path", str(SOLUTIONS), "--json", str(tmp_path / "r.json"))
    _one_line_error(r, "unknown exercise 'ex99'")
    assert "known: ex01 (sigmoid)" in r.stdout + r.stderr
    assert not (tmp_path / "r.json").exists()  # nothing graded


@pytest.mark.parametrize("where", ["folder", "missing_folder"])
def test_report_path_that_cannot_be_written_is_refused_before_grading(tmp_path, where):
    target = tmp_path if where == "folder" else tmp_path / "no" / "such" / "r.json"
    r = dlgrade("check", "ex01", "--path", str(SOLUTIONS), "--json", str(target))
    _one_line_error(r, "cannot write the report to")
    assert "ex01 sigmoid" not in r.stdout  # refused before grading


def test_report_that_fails_to_write_after_grading():
    """A path that looks writable but is not (root passes every permission check, so /proc is
    used): the grading is shown, the failure is one line, and the exit status is 2."""
    r = dlgrade("check", "ex01", "--path", str(SOLUTIONS), "--seed", "3", "--json",
                "/proc/dlgrade-report.json")
    _one_line_error(r, "/proc/dlgrade-report.json")


@pytest.mark.parametrize("text, expected", [
    ("[limits\ncall_timeout_s = 3\n", "dlgrade.toml: not valid TOML"),
    ("[limits]\ncall_timeout_s = \"soon\"\n", "[limits] call_timeout_s must be a positive number"),
], ids=["not_toml", "wrong_type"])
def test_corrupt_course_config(tmp_path, text, expected):
    (tmp_path / "dlgrade.toml").write_text(text)
    r = dlgrade("check", "ex01", "--path", str(SOLUTIONS), "--json", str(tmp_path / "r.json"),
                cwd=tmp_path)
    _one_line_error(r, expected)
    assert not (tmp_path / "r.json").exists()  # nothing graded
