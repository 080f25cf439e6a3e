"""Gradescope's ``results.json`` (``dlgrade check --gradescope FILE``).

Format: Gradescope's "Autograder Specifications", section "Output format" (the file
``/autograder/results/results.json`` that ``run_autograder`` must leave behind). Top level:
``score`` (required unless every test has one), ``execution_time`` (seconds), ``output``,
``output_format``, ``test_output_format``, ``visibility``, ``stdout_visibility``, ``extra_data``,
``tests``. Each test: ``score``, ``max_score``, ``status`` (``"passed"``/``"failed"``), ``name``,
``number``, ``output``, ``output_format``, ``tags``, ``visibility``, ``extra_data``.
Visibility is one of ``hidden``, ``after_due_date``, ``after_published``, ``visible``; output
formats are ``text``, ``html``, ``simple_format``, ``md``, ``ansi``. Only documented keys are
written: what the format has no key for (the check's kind, dlgrade's own four-way status, its
duration, the seed) goes into ``extra_data``.

Mapping: one test per check, named ``"ex01 sigmoid: sigmoid_values"``, numbered
``"<exercise number>.<check number>"``; ``fail`` and ``error`` are ``"failed"``; a ``skip``
(e.g. a CUDA timing with no GPU) is a test worth 0 of 0 with status ``"passed"``, so it neither
adds nor takes points, as in dlgrade's own report. Outputs are plain text (``output_format``
``text``) holding the student message, neutralised like everything student-controlled.
"""
from __future__ import annotations

import json
import os

from grader import __version__
from grader.report.terminal import neutralise
from grader.results import Report

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def build(report: Report, visibility: str = "visible",
          stdout_visibility: str = "hidden") -> dict:
    """The ``results.json`` object of ``report``.

    Args:
        report: the graded :class:`~grader.results.Report`.
        visibility: visibility of every test (and of the whole result), one of
            :data:`VISIBILITIES`.
        stdout_visibility: visibility of the autograder's stdout on Gradescope.

    Returns:
        A JSON-serialisable dict in Gradescope's documented format.

    Raises:
        ValueError: an unknown visibility.
    """
    for v in (visibility, stdout_visibility):
        if v not in VISIBILITIES:
            raise ValueError(f"visibility {v!r} is not one of {', '.join(VISIBILITIES)}")
    tests = []
    total_time = 0.0
    for ex in report.exercises:
        total_time += ex.duration_s or sum(c.duration_s for c in ex.checks)
        for i, c in enumerate(ex.checks, 1):
            if c.status == "pass":
                output = f"passed ({c.score:g}/{c.max_score:g} points)"
            elif c.status == "skip":
                output = f"skipped: {c.message}" if c.message else "skipped"
            else:
                output = f"{c.status}: {c.message}"
            if c.output:
                output += "\n\nyour code printed:\n" + c.output
            test = {
                "name": neutralise(f"{ex.id} {ex.name}: {c.name}"),
                "number": f"{int(ex.id[2:]) if ex.id[2:].isdigit() else ex.id}.{i}",
                "score": float(c.score),
                "max_score": float(c.max_score),
                "status": "passed" if c.status in ("pass", "skip") else "failed",
                "output": neutralise(output),
                "output_format": "text",
                "tags": [ex.id, c.kind],
                "visibility": visibility,
                "extra_data": {"exercise": ex.id, "check": c.name, "kind": c.kind,
                               "dlgrade_status": c.status,
                               "execution_time": round(c.duration_s, 4)},
            }
            tests.append(test)
    lines = [f"dlgrade {__version__}: {report.score:g} / {report.max_score:g} points "
             f"(seed {report.seed}, device {report.device})"]
    for ex in report.exercises:
        lines.append(f"  {ex.id} {ex.name}: {ex.score:g} / {ex.max_score:g}")
    if not report.passed:
        ids = " ".join(e.id for e in report.exercises if not e.passed)
        lines.append(f"Reproduce on your machine: dlgrade check {ids} --seed {report.seed}")
    if report.internal_errors:
        lines.append("The grader itself failed on part of this submission; please tell your "
                     "instructor (the points of the affected checks are not your fault).")
    return {
        "score": float(report.score),
        "execution_time": round(total_time, 3),
        "output": neutralise("\n".join(lines)),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": stdout_visibility,
        "extra_data": {"dlgrade_version": __version__, "seed": report.seed,
                       "device": report.device, "max_score": float(report.max_score),
                       "internal_errors": len(report.internal_errors)},
        "tests": tests,
    }


def write(report: Report, path: str | os.PathLike, **kwargs) -> None:
    """Write ``results.json`` for ``report`` to ``path`` atomically, replacing (never following)
    whatever is there; ``kwargs`` go to :func:`build`.

    Raises:
        OSError: the file cannot be written.
    """
    from grader.engine import write_report_file
    text = json.dumps(build(report, **kwargs), indent=2)  # ASCII: lone surrogates stay valid JSON
    write_report_file(path, text + "\n")
