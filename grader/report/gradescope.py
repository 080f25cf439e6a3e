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

Mapping: one test per judged check, named ``"ex01 sigmoid: sigmoid_values"``, numbered
``"<exercise number>.<check number>"`` (the check's place in its exercise); ``pass`` is
``"passed"``, ``fail`` and ``error`` are ``"failed"``. A ``skip`` (a CUDA check with no GPU, the
timing with ``--no-perf``) has no test entry: the format has no "skipped" status, and Gradescope
shows a test without one as passed when its score equals its max_score (0 of 0 included; section
"Test case status"), so a skipped check would read as passed. Skipped checks count toward neither
score nor max_score, as in dlgrade's own report; the top-level ``output`` names them ("not
judged here: ...") and ``extra_data["skipped"]`` lists them as ``"ex06.cuda_values"``. Outputs
are plain text (``output_format`` ``text``) holding the student message, neutralised like
everything student-controlled.

Leaderboard (section "Leaderboards", when the course sets ``[gradescope] leaderboard = true``
in dlgrade.toml): one entry per timed function of every passing performance check, ``{"name":
"ex06 conv_forward[batch] (x reference)", "value": <time / reference time>, "order": "asc"}``
for the CPU timing and ``"... (CUDA ms)"`` with the milliseconds per call for the CUDA timing
(lower is better: ``order`` ``asc``). A function whose check did not pass has no entry.
"""
from __future__ import annotations

import json
import os

from grader import __version__
from grader.report.terminal import neutralise, reproduce_line
from grader.results import Report

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def leaderboard(report: Report) -> list[dict]:
    """Gradescope's ``leaderboard`` entries of ``report`` (see the module docstring).

    Returns:
        ``[{"name": str, "value": float, "order": "asc"}, ...]`` in report order: the ratio to
        the reference (CPU ``performance``) or the milliseconds per call (``cuda_performance``)
        of each timed function of each passing performance check.
    """
    out = []
    for ex in report.exercises:
        for c in ex.checks:
            if c.kind != "performance" or c.status != "pass":
                continue
            for unit, m in c.metrics.items():
                if c.name == "cuda_performance" and "ms" in m:
                    out.append({"name": f"{ex.id} {unit} (CUDA ms)", "value": float(m["ms"]),
                                "order": "asc"})
                elif "ratio" in m:
                    out.append({"name": f"{ex.id} {unit} (x reference)",
                                "value": float(m["ratio"]), "order": "asc"})
    return out


def build(report: Report, visibility: str = "visible",
          stdout_visibility: str = "hidden", with_leaderboard: bool = False) -> dict:
    """The ``results.json`` object of ``report``.

    Args:
        report: the graded :class:`~grader.results.Report`.
        visibility: visibility of every test (and of the whole result), one of
            :data:`VISIBILITIES`.
        stdout_visibility: visibility of the autograder's stdout on Gradescope.
        with_leaderboard: add the ``leaderboard`` entries (:func:`leaderboard`).

    Returns:
        A JSON-serialisable dict in Gradescope's documented format.

    Raises:
        ValueError: an unknown visibility.
    """
    for v in (visibility, stdout_visibility):
        if v not in VISIBILITIES:
            raise ValueError(f"visibility {v!r} is not one of {', '.join(VISIBILITIES)}")
    tests = []
    skipped = []
    total_time = 0.0
    for ex in report.exercises:
        total_time += ex.duration_s or sum(c.duration_s for c in ex.checks)
        for i, c in enumerate(ex.checks, 1):
            if c.status == "skip":
                skipped.append((ex, c))
                continue
            if c.status == "pass":
                output = f"passed ({c.score:g}/{c.max_score:g} points)"
            else:
                output = f"{c.status}: {c.message}"
            if c.output:
                output += "\n\nyour code printed:\n" + c.output
            test = {
                "name": neutralise(f"{ex.id} {ex.name}: {c.name}"),
                "number": f"{int(ex.id[2:]) if ex.id[2:].isdigit() else ex.id}.{i}",
                "score": float(c.score),
                "max_score": float(c.max_score),
                "status": "passed" if c.status == "pass" else "failed",
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
    if skipped:
        lines.append("Not judged here (counted neither way): " + "; ".join(
            f"{ex.id} {c.name} ({c.message.split(chr(10))[0] or 'skipped'})" for ex, c in skipped))
    if not report.passed:
        lines.append(f"Reproduce on your machine: {reproduce_line(report)}")
    if report.internal_errors:
        lines.append("The grader itself failed on part of this submission; please tell your "
                     "instructor (the points of the affected checks are not your fault).")
    result = {
        "score": float(report.score),
        "execution_time": round(total_time, 3),
        "output": neutralise("\n".join(lines)),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": stdout_visibility,
        "extra_data": {"dlgrade_version": __version__, "seed": report.seed,
                       "device": report.device, "max_score": float(report.max_score),
                       "internal_errors": len(report.internal_errors),
                       "skipped": [f"{ex.id}.{c.name}" for ex, c in skipped]},
        "tests": tests,
    }
    if with_leaderboard:
        result["leaderboard"] = leaderboard(report)
    return result


def write(report: Report, path: str | os.PathLike, **kwargs) -> None:
    """Write ``results.json`` for ``report`` to ``path`` atomically, replacing (never following)
    whatever is there; ``kwargs`` go to :func:`build`.

    Raises:
        OSError: the file cannot be written.
    """
    from grader.files import write_report_file
    text = json.dumps(build(report, **kwargs), indent=2)  # ASCII: lone surrogates stay valid JSON
    write_report_file(path, text + "\n")
