"""Grading notebooks: ``dlgrade check EX --path submission.ipynb`` (grader/notebook.py).

The notebooks are written as plain JSON (nbformat 4, and one nbformat 3), so these tests need
neither Jupyter nor nbgrader, and every grade goes through the real engine and CLI.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, grade_file
from grader.notebook import NotebookError, read_cells, strip_ipython, to_module

SOLUTION = (ROOT / "solutions" / "ex01_sigmoid.py").read_text()


def _cell(kind: str, source: str, **nbgrader) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    if nbgrader:
        cell["metadata"]["nbgrader"] = nbgrader
    return cell


def _write(path: Path, cells: list[dict]) -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
          "cells": cells}
    path.write_text(json.dumps(nb, indent=1))
    return path


def _solution_cells(code: str = SOLUTION) -> list[dict]:
    """The ex01 solution as a student notebook: imports, then one cell per function."""
    head, _, rest = code.partition("\ndef sigmoid(")
    first, _, second = ("def sigmoid(" + rest).partition("\ndef sigmoid_grad(")
    return [_cell("markdown", "# Exercise 1\nWrite `sigmoid`."),
            _cell("code", head), _cell("code", first), _cell("code", "def sigmoid_grad(" + second)]


def _dlgrade(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_code_cells_only_in_order_without_test_cells(tmp_path):
    nb = _write(tmp_path / "a.ipynb", [
        _cell("markdown", "x = 1  # markdown is not code"),
        _cell("code", "import numpy as np"),
        _cell("raw", "raw text"),
        _cell("code", "def f(z):\n    return z"),
        _cell("code", "assert f(1) == 1", grade=True, solution=False, locked=True,
              grade_id="t", points=1, schema_version=3),
        _cell("code", "from grader.nbgrader.runtime import dlgrade_check\n"
                      "dlgrade_check('a.ipynb', 'ex01', 'signature')"),  # metadata stripped
        _cell("code", "def g(z):\n    return 2 * z", grade=True, solution=True,
              grade_id="s", points=1, schema_version=3),
    ])
    module = to_module(nb)
    assert module.cells_used == [2, 4, 7]
    assert "markdown" not in module.source and "raw text" not in module.source
    assert "assert f(1)" not in module.source and "dlgrade_check" not in module.source
    assert module.source.index("import numpy") < module.source.index("def f") < \
        module.source.index("def g")
    line = module.source.splitlines().index("    return 2 * z") + 1
    assert module.where(line) == "cell 7, line 2"


def test_ipython_syntax_is_commented_out_and_line_numbers_kept():
    cell = "%matplotlib inline\nimport numpy as np\n!pip install foo\nfiles = !ls\nnp.sum?\nx = 1"
    out = strip_ipython(cell)
    assert len(out.split("\n")) == len(cell.split("\n"))
    compile(out, "<cell>", "exec")
    assert out.split("\n")[1] == "import numpy as np" and out.split("\n")[5] == "x = 1"
    assert all(out.split("\n")[i].lstrip().startswith("#") for i in (0, 2, 3, 4))
    timed = strip_ipython("%%time\ny = sum(range(10))")
    assert timed.split("\n")[1] == "y = sum(range(10))"
    bash = strip_ipython("%%bash\necho hi\nrm -rf x")
    assert all(ln.lstrip().startswith("#") for ln in bash.split("\n"))
    plain = "x = (1\n% 2)"  # valid Python with a line starting with % stays untouched
    assert strip_ipython(plain) == plain


def test_invalid_notebooks_give_one_line_errors(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [')
    with pytest.raises(NotebookError, match=r"bad.ipynb is not a valid notebook: invalid JSON at line 1"):
        read_cells(bad)
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    with pytest.raises(NotebookError, match="not an object"):
        read_cells(tmp_path / "list.ipynb")
    (tmp_path / "nocells.ipynb").write_text('{"metadata": {}}')
    with pytest.raises(NotebookError, match="no list of 'cells'"):
        read_cells(tmp_path / "nocells.ipynb")
    r = _dlgrade("check", "ex01", "--path", str(bad), "--seed", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    errors = [ln for ln in r.stdout.splitlines() if "not a valid notebook" in ln]
    assert len(errors) == 1 and "invalid JSON at line 1, column 12" in errors[0]
    assert "Traceback" not in r.stdout + r.stderr


def test_nbformat3_notebook_is_read(tmp_path):
    nb = {"nbformat": 3, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": ["import numpy as np\n", "x = np.ones(2)"],
         "language": "python", "outputs": []}]}]}
    (tmp_path / "v3.ipynb").write_text(json.dumps(nb))
    assert "x = np.ones(2)" in to_module(tmp_path / "v3.ipynb").source


def test_solution_notebook_scores_full_and_report_names_the_notebook(tmp_path):
    nb = _write(tmp_path / "submission.ipynb", _solution_cells())
    r = _dlgrade("check", "ex01", "--path", str(nb), "--seed", "7", "--json", "-")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    ex = report["exercises"][0]
    assert ex["score"] == ex["max_score"] > 0
    assert ex["path"] == str(nb)


def test_notebook_found_in_a_folder_by_its_exercise_name(tmp_path):
    _write(tmp_path / "ex01_sigmoid.ipynb", _solution_cells())
    result = grade_file("ex01", tmp_path)
    assert result.path.endswith("ex01_sigmoid.ipynb")
    assert result.score == result.max_score


def test_bug_in_a_notebook_is_reported_with_its_cell_and_line(tmp_path):
    buggy = SOLUTION.replace("return s * (1.0 - s)", 'raise ValueError("oops")')
    nb = _write(tmp_path / "sub.ipynb", _solution_cells(buggy))
    result = grade_file("ex01", nb)
    by = {c.name: c for c in result.checks}
    assert by["sigmoid_grad_values"].status == "error"
    msg = by["sigmoid_grad_values"].message
    assert "ValueError: oops" in msg
    assert 'File "sub.ipynb", cell 4, line' in msg, msg
    assert "dlgrade-nb-" not in msg  # no temporary path leaks into the message
    assert by["sigmoid_values"].status == "pass"


def test_forbidden_import_points_into_the_notebook(tmp_path):
    cells = _solution_cells()
    cells.insert(2, _cell("code", "from scipy.special import expit"))
    result = grade_file("ex01", _write(tmp_path / "sub.ipynb", cells))
    forbidden = next(c for c in result.checks if c.kind == "forbidden")
    assert forbidden.status == "fail"
    assert "at cell 3, line 1" in forbidden.message, forbidden.message


def test_kernel_tampering_in_a_cell_does_not_survive_outside_the_kernel(tmp_path):
    """A cell that patches numpy's comparisons or uses IPython's hooks only runs in the student
    process (or fails to import there); the verdict is computed in the grader's process."""
    cells = _solution_cells(SOLUTION.replace("return s * (1.0 - s)", "return s"))
    cells.insert(2, _cell("code", "import numpy\nnumpy.allclose = lambda *a, **k: True\n"
                                  "numpy.testing.assert_allclose = lambda *a, **k: None"))
    result = grade_file("ex01", _write(tmp_path / "sub.ipynb", cells))
    by = {c.name: c for c in result.checks}
    assert by["sigmoid_grad_values"].status == "fail"
    blanker = _solution_cells()
    blanker.insert(2, _cell("code", "get_ipython().input_transformers_post.append("
                                    "lambda lines: ['pass\\n'])"))
    result = grade_file("ex01", _write(tmp_path / "blank.ipynb", blanker))
    assert result.score == 0
