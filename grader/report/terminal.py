"""The terminal report: one rich table per exercise, then the total and how to reproduce."""
from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from grader.report.text import TERMINAL_MESSAGE_CHARS, bounded
from grader.results import Report

STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold magenta", "skip": "dim"}
SYMBOL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skip": "skip"}


def neutralise(text: str) -> str:
    """Make student-controlled text safe for terminals and CI logs.

    Control characters (ANSI escapes and ``\\r`` included) are shown as ``\\xNN``, lone surrogates
    as ``\\udNNN``; a line whose
    first non-blank characters are ``::`` (a GitHub Actions workflow command: the runner strips
    leading whitespace before matching, so a leading space is not enough) is prefixed with ``» ``;
    ``##[`` (GitHub's legacy command syntax) and ``##vso[`` (Azure Pipelines), which runners match
    anywhere in a line, become ``# #[`` and ``# #vso[``. Output a student's code printed thus
    cannot issue CI commands or rewrite the screen. Source of the matching rules:
    actions/runner ``ActionCommand.TryParseV2`` (``TrimStart`` then ``StartsWith("::")``) and
    ``TryParse`` (``IndexOf("##[")``).
    """
    out = []
    for ch in text:
        if 0xD800 <= ord(ch) < 0xE000:  # a lone surrogate: no terminal or UTF-8 file holds one
            out.append(f"\\u{ord(ch):04x}")
        elif ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127 and not 0x80 <= ord(ch) < 0xA0):
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}")
    lines = re.sub(r"##(?=\[|vso\[)", "# #", "".join(out)).split("\n")
    return "\n".join("» " + ln if ln.lstrip().startswith("::") else ln for ln in lines)


def reproduce_line(report: Report, exercise=None) -> str:
    """The command that regrades ``report`` (or one of its exercises) with the same inputs and
    options, as the engine recorded it; a report built elsewhere falls back to ids and seed."""
    if exercise is not None:
        return exercise.reproduce or f"dlgrade check {exercise.id} --seed {report.seed}"
    ids = " ".join(e.id for e in report.exercises)
    return report.reproduce or f"dlgrade check {ids} --seed {report.seed}"


def print_report(report: Report, console: Console) -> None:
    """Print every exercise's table, the total and the reproduce line to ``console``."""
    for ex in report.exercises:
        table = Table(title=f"{ex.id} {ex.name}  ({ex.path})", title_justify="left", expand=True,
                      show_lines=False)
        table.add_column("check", no_wrap=True)
        table.add_column("kind", style="dim", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("points", justify="right", no_wrap=True)
        table.add_column("message", ratio=1)
        for c in ex.checks:
            pts = f"{c.score:g}/{c.max_score:g}" if c.status != "skip" else "-"
            table.add_row(c.name, c.kind, Text(SYMBOL[c.status], style=STYLE[c.status]), pts,
                          Text(neutralise(bounded(c.message.split("\n  reproduce: ")[0],
                                                  TERMINAL_MESSAGE_CHARS, "the JSON report"))))
        console.print(table)
        console.print(f"  [bold]{ex.id}: {ex.score:g} / {ex.max_score:g}[/bold]  "
                      f"({ex.duration_s:.2f} s)\n")
    colour = "green" if report.passed else "red"
    console.print(f"[bold {colour}]Total: {report.score:g} / {report.max_score:g}[/bold {colour}]"
                  f"   seed {report.seed}   device {report.device}")
    if not report.passed:
        console.print(f"Reproduce exactly: [bold]{escape(reproduce_line(report))}[/bold]")
    for err in report.internal_errors:
        console.print(f"[bold red]internal grader error[/bold red] (not your fault; please report):\n"
                      f"{escape(err)}")
