"""The markdown summary of a run, appended to ``$GITHUB_STEP_SUMMARY`` when that variable is set.

GitHub Actions renders the file named by ``GITHUB_STEP_SUMMARY`` as GitHub-flavoured markdown on
the run's summary page ("Adding a job summary" in GitHub's workflow-commands documentation);
steps append to it. dlgrade appends one section per ``dlgrade check`` run: the total, a table of
exercises, then a table of checks per exercise with the first line of each message.

Student-controlled text (messages, printed output) is neutralised
(:func:`grader.report.terminal.neutralise`) and then escaped for markdown and HTML
(:func:`md_escape`), so it can neither issue workflow commands nor add links, images or markup to
the page.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

from grader import __version__
from grader.report.terminal import neutralise, reproduce_line
from grader.results import Report

ICON = {"pass": "✅ pass", "fail": "❌ fail", "error": "💥 error", "skip": "⏭️ skip"}
#: Longest message shown in a table cell (the JSON/JUnit reports hold the full text).
CELL_CHARS = 240
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def md_escape(text: str, limit: int | None = CELL_CHARS) -> str:
    """``text`` as inert GitHub-flavoured markdown on one table-cell line.

    Neutralises CI commands, escapes HTML (``& < >``), backslash-escapes markdown punctuation
    (links, images, emphasis, code, tables), and turns newlines into ``<br>``.

    Args:
        text: any str. limit: truncate to this many characters (``…`` appended); None: keep all.
    """
    text = neutralise(text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("\n", "<br>")


def _first_line(message: str) -> str:
    return message.split("\n  reproduce: ")[0].split("\n", 1)[0]


def markdown(report: Report) -> str:
    """The markdown section for ``report`` (ends with a newline)."""
    mark = "✅" if report.passed else "❌"
    out = [f"## {mark} dlgrade: {report.score:g} / {report.max_score:g} points", ""]
    meta = f"seed `{report.seed}` · device `{report.device}` · dlgrade {__version__}"
    if not report.passed:
        meta += f" · reproduce: `{reproduce_line(report)}`"
    out += [meta, "", "| exercise | points | checks passed |", "|---|---:|---:|"]
    for ex in report.exercises:
        judged = [c for c in ex.checks if c.status != "skip"]
        ok = sum(c.status == "pass" for c in judged)
        out.append(f"| {'✅' if ex.passed else '❌'} {ex.id} {md_escape(ex.name)} | "
                   f"{ex.score:g} / {ex.max_score:g} | {ok} of {len(judged)} |")
    for ex in report.exercises:
        out += ["", f"### {ex.id} {md_escape(ex.name)}: {ex.score:g} / {ex.max_score:g}", "",
                "| check | kind | status | points | message |", "|---|---|---|---:|---|"]
        for c in ex.checks:
            pts = "-" if c.status == "skip" else f"{c.score:g} / {c.max_score:g}"
            out.append(f"| {md_escape(c.name)} | {c.kind} | {ICON.get(c.status, c.status)} | "
                       f"{pts} | {md_escape(_first_line(c.message))} |")
        failed = [c for c in ex.checks if c.status in ("fail", "error") and c.message]
        if failed:
            out += ["", "<details><summary>full messages</summary>", ""]
            for c in failed:
                # A line opening with <pre> starts a CommonMark HTML block that only a literal
                # </pre> ends; the escaped body cannot contain one, so blank lines in a message
                # cannot drop back into markdown.
                body = html.escape(neutralise(c.message), quote=False)
                out += [f"**{md_escape(c.name)}**", "", f"<pre>{body}</pre>", ""]
            out += ["", "</details>"]
    if report.internal_errors:
        out += ["", "> [!WARNING]", "> The grader itself failed on part of this run (not the "
                "student's fault); see the job log."]
    return "\n".join(out) + "\n"


def append_step_summary(report: Report, path: str | os.PathLike | None = None) -> Path | None:
    """Append :func:`markdown` of ``report`` to ``path`` or ``$GITHUB_STEP_SUMMARY``.

    Returns:
        The file appended to, or None when neither ``path`` nor the variable is set.

    Raises:
        OSError: the file cannot be written.
    """
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(markdown(report) + "\n")
    return Path(target)


EXIT_MEANING = {0: "every check passed", 1: "some checks failed (the messages above say why)",
                2: "the grader itself failed (not the student's fault)"}


def annotations(report: Report) -> list[str]:
    """GitHub Actions workflow commands (``::error``/``::notice``) with one line per exercise.

    Only dlgrade's own words go in (exercise ids and names, check names, points), escaped as the
    runner's ``ActionCommand`` unescapes them (``%``, CR, LF in data; also ``:`` and ``,`` in
    properties), so no student text is ever part of a command.
    """
    def data(s: str) -> str:
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(s: str) -> str:
        return data(s).replace(":", "%3A").replace(",", "%2C")

    out = []
    for ex in report.exercises:
        bad = [c.name for c in ex.checks if c.status in ("fail", "error")]
        title = prop(f"dlgrade {ex.id} {ex.name}: {ex.score:g}/{ex.max_score:g} points")
        if bad:
            out.append(f"::error title={title}::"
                       + data(f"{len(bad)} check(s) not passed: {', '.join(bad)}; "
                              f"reproduce with: {reproduce_line(report, ex)}"))
        else:
            out.append(f"::notice title={title}::" + data("every check passed"))
    return out


def write_ci_reports(report: Report, console, junit_path: str | None = None,
                     gradescope_path: str | None = None, leaderboard: bool = False) -> None:
    """Everything ``dlgrade check`` writes after the terminal report, from the one ``report``.

    Writes the JUnit XML and Gradescope files when asked, appends the markdown summary to
    ``$GITHUB_STEP_SUMMARY`` when set, prints annotations under GitHub Actions
    (``GITHUB_ACTIONS=true``), and ends with a one-line verdict naming the exit status.
    A report file that cannot be written is an internal error (exit 2), reported in the log.

    Args:
        report: the graded report. console: the rich Console of the terminal report.
        junit_path, gradescope_path: files to write, or None.
        leaderboard: the Gradescope results carry leaderboard entries (``[gradescope]
            leaderboard`` of the course configuration).
    """
    for what, path in (("JUnit XML", junit_path), ("Gradescope", gradescope_path)):
        if not path:
            continue
        try:
            if what == "JUnit XML":  # imported when asked for: the writer library costs ~35 ms
                from grader.report import junit
                junit.write(report, path)
            else:
                from grader.report import gradescope
                gradescope.write(report, path, with_leaderboard=leaderboard)
        except OSError as exc:
            report.internal_errors.append(f"cannot write the {what} report to {path}: {exc}")
            console.print(f"dlgrade: cannot write the {what} report to {path}: {exc}",
                          markup=False)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        try:
            append_step_summary(report)
        except OSError as exc:  # the summary is a convenience: warn, do not fail the grading
            console.print(f"dlgrade: warning: cannot append to $GITHUB_STEP_SUMMARY: {exc}",
                          markup=False)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in annotations(report):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    code = report.exit_code()
    console.print(f"dlgrade: {report.score:g}/{report.max_score:g} points; exit status {code}: "
                  f"{EXIT_MEANING[code]}", markup=False, highlight=False, soft_wrap=True)
