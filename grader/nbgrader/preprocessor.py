"""``DlgradeVerdicts``: an ``nbgrader autograde`` step that records dlgrade's verdicts from outside
the student's kernel.

nbgrader decides a test cell's points from the cell's outputs after the kernel ran it (an error
output, or stderr, gives 0). Those outputs come from the student's kernel, which an earlier
student cell can subvert: an IPython input transformer can blank every later cell, so the test
cells run nothing and "pass". This step runs in nbgrader's own process right after ``Execute``:

1. it finds the dlgrade test cells (nbgrader grade cells calling ``dlgrade_check(...)``; their
   source was restored from the gradebook by nbgrader's ``OverwriteCells`` during sanitising, so
   the exercise and check names it reads from them are the instructor's);
2. it writes the notebook *as nbgrader holds it in memory* (not the file on disk, which the
   student's kernel could have rewritten) to a temporary folder and grades it with
   ``dlgrade check --json -`` in a separate process (student code in dlgrade's isolated runner);
3. it replaces each test cell's outputs with that verdict: a stdout line when the checks passed,
   an ``AssertionError`` output carrying dlgrade's message when they failed.

``SaveAutoGrades`` then records points that no student cell could influence, and
``nbgrader generate_feedback`` shows dlgrade's messages. ``dlgrade nbgrader build`` enables the
step in the ``nbgrader_config.py`` it writes; while the step is configured the test cells skip
their own in-kernel grading during autograde (one grading run per notebook, not two).

This step guards the *points* on nbgrader's kernel path only: the student's cells still ran in a
kernel as the instructor, with the instructor's files and environment. The default path,
``dlgrade nbgrader autograde`` (:mod:`grader.nbgrader.autograde`), runs no student code in a kernel.
"""
from __future__ import annotations

import ast
import os
import secrets
import tempfile
from pathlib import Path

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from grader.nbgrader import runtime


def parse_test_call(source: str) -> dict | None:
    """The literal arguments of the ``dlgrade_check(...)`` call in a test cell's source, or None.

    Returns:
        ``{"notebook", "exercise", "checks", "seed", "perf", "device"}``; None when the cell holds
        no such call with literal arguments (an instructor's own test cell is left alone).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        name = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", None)
        if name != "dlgrade_check" or len(node.args) < 3:
            continue
        try:
            notebook, exercise, checks = (ast.literal_eval(a) for a in node.args[:3])
            kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError:
            return None
        return {"notebook": notebook, "exercise": exercise, "checks": checks,
                "seed": kw.get("seed"), "perf": bool(kw.get("perf", False)),
                "device": kw.get("device", "cpu")}
    return None


def _outputs(result: runtime.CellResult, exercise: str, checks) -> list:
    line = runtime.status_line(result, exercise, checks) + " [graded outside the kernel]\n"
    outs = [{"output_type": "stream", "name": "stdout", "text": line}]
    if not result.passed:
        outs.append({"output_type": "error", "ename": "AssertionError", "evalue": result.message,
                     "traceback": [f"\x1b[0;31mAssertionError\x1b[0m: {result.message}"]})
    return [from_dict(o) for o in outs]


class DlgradeVerdicts(NbGraderPreprocessor):
    """Replace the outputs of dlgrade's test cells with verdicts computed outside the kernel."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.enabled:
            # Inherited by the kernel nbgrader starts next: its test cells need not grade.
            os.environ[runtime.OUTSIDE_ENV] = "1"

    def preprocess(self, nb: NotebookNode, resources: dict):
        tests = []
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                call = parse_test_call(cell.source)
                if call is not None:
                    tests.append((cell, call))
        if not tests:
            return nb, resources
        name = f"{resources.get('nbgrader', {}).get('notebook') or 'notebook'}.ipynb"
        reports: dict = {}
        for cell, call in tests:
            key = (call["exercise"], call["seed"], call["perf"], call["device"])
            if key not in reports:
                reports[key] = self._grade(nb, name, *key)
            result = runtime.verdict(reports[key], call["exercise"], call["checks"], name)
            cell.outputs = _outputs(result, call["exercise"], call["checks"])
            self.log.info("dlgrade %s %s: %s", call["exercise"], call["checks"],
                          "pass" if result.passed else "fail")
        return nb, resources

    def _grade(self, nb: NotebookNode, name: str, exercise: str, seed, perf: bool,
               device: str) -> dict:
        import nbformat

        run_seed = secrets.randbelow(2**31) if seed is None else int(seed)
        with tempfile.TemporaryDirectory(prefix="dlgrade-autograde-") as tmp:
            path = Path(tmp) / name
            with open(path, "w", encoding="utf-8") as fh:
                nbformat.write(nb, fh)
            report = runtime.run_dlgrade(path, exercise, run_seed, perf, device)
        report.setdefault("seed", run_seed)
        if "_error" in report:
            self.log.error("dlgrade could not grade %s: %s", name, report["_error"])
        return report
