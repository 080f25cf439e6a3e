"""Grading student repositories in CI: ``dlgrade ci init`` and ``dlgrade ci classroom``.

``dlgrade ci init [--provider github|gitlab]`` writes a workflow into a student repository
(rendered from the jinja2 templates in ``grader/templates/ci/``) that installs dlgrade, runs
``dlgrade check --all`` with every report format, and keeps the reports:

* GitHub Actions: ``.github/workflows/dlgrade.yml``. ``dlgrade check`` itself appends the
  markdown summary to ``$GITHUB_STEP_SUMMARY``; the reports are uploaded with
  ``actions/upload-artifact``; with ``--classroom`` (the default) the points reach GitHub
  Classroom through ``classroom-resources/autograding-grading-reporter@v1``.
* GitLab CI: ``.gitlab-ci.yml`` with the JUnit file as ``artifacts:reports:junit``.

GitHub Classroom's reporter (source: github-education-resources/autograding-grading-reporter,
``src/main.js`` and ``src/notify-classroom.js``) reads, for each runner id listed in its
``runners`` input, the environment variable ``<RUNNER-ID upper-cased>_RESULTS`` holding base64 of
a JSON object ``{"version": 1, "status": "pass"|"fail"|"error", "max_score": N, "tests": [{"name",
"status", "message", "line_no", "execution_time", "score"}, ...]}``; it posts
``Points <sum of tests' score>/<sum of max_score>`` on the "Autograding Tests" check run, which
is what Classroom shows. ``dlgrade ci classroom REPORT.json`` turns dlgrade's JSON report into
that object and writes ``result=<base64>`` to ``$GITHUB_OUTPUT`` (the step's ``result`` output).
"""
from __future__ import annotations

import base64
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import click

from grader import __version__

PROVIDERS = {"github": Path(".github/workflows/dlgrade.yml"), "gitlab": Path(".gitlab-ci.yml")}
#: Where the CPU-only torch wheels live (a few hundred MB instead of several GB of CUDA wheels).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REPORT_JSON = "dlgrade-report.json"
REPORT_JUNIT = "dlgrade-junit.xml"
REPORT_GRADESCOPE = "dlgrade-gradescope.json"
#: Longest message per test in Classroom's result (the reporter prints it in the job log, and
#: a step output may hold at most 1 MiB).
CLASSROOM_MESSAGE_CHARS = 1500


class CIError(click.ClickException):
    """``dlgrade ci`` was used wrongly (exit 2)."""

    exit_code = 2


@dataclass
class WorkflowOptions:
    """What the generated workflow does.

    Attributes:
        install: the pip requirement that installs dlgrade (``dlgrade==<version>`` by default;
            a course usually pins a git URL or a wheel of its own grader).
        python: the Python version of the CI image.
        classroom: (GitHub) add the GitHub Classroom reporter steps.
        torch_index: extra pip index for CPU-only torch wheels ("" for none).
        perf: run the performance checks (shared CI machines time poorly; off by default).
        timeout_minutes: the job's time limit.
        workflow_name: the workflow's and job's name ("Autograding Tests" is the check run name
            GitHub Classroom's reporter looks for).
    """

    install: str = f"dlgrade=={__version__}"
    python: str = "3.11"
    classroom: bool = True
    torch_index: str = TORCH_CPU_INDEX
    perf: bool = False
    timeout_minutes: int = 30
    workflow_name: str = "Autograding Tests"
    report_files: list[str] = field(default_factory=lambda: [REPORT_JSON, REPORT_JUNIT,
                                                              REPORT_GRADESCOPE])


def _environment():
    import jinja2
    env = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates/ci"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    # A JSON string is a valid YAML double-quoted scalar: every value is quoted this way.
    env.filters["q"] = lambda v: json.dumps(str(v))
    return env


def check_command(opts: WorkflowOptions) -> str:
    """The shell command the workflow grades with."""
    cmd = (f"dlgrade check --all --json {REPORT_JSON} --junit-xml {REPORT_JUNIT} "
           f"--gradescope {REPORT_GRADESCOPE}")
    return cmd if opts.perf else cmd + " --no-perf"


def render(provider: str, opts: WorkflowOptions | None = None) -> str:
    """The workflow file's text for ``provider`` (``github`` or ``gitlab``).

    Raises:
        CIError: unknown provider.
    """
    if provider not in PROVIDERS:
        raise CIError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    opts = opts or WorkflowOptions()
    template = _environment().get_template(f"{'github.yml' if provider == 'github' else 'gitlab-ci.yml'}.j2")
    return template.render(
        version=__version__, python=opts.python, classroom=opts.classroom,
        torch_index=opts.torch_index, timeout_minutes=int(opts.timeout_minutes),
        workflow_name=opts.workflow_name, report_files=opts.report_files,
        junit_file=REPORT_JUNIT,
        install_command=f"python -m pip install {shlex.quote(opts.install)}",
        check_command=check_command(opts),
        classroom_command=f"dlgrade ci classroom {REPORT_JSON}")


def init(repo: str | os.PathLike, provider: str = "github", opts: WorkflowOptions | None = None,
         force: bool = False) -> Path:
    """Write the workflow for ``provider`` into the repository at ``repo``.

    Returns:
        The file written.

    Raises:
        CIError: ``repo`` is not a folder, or the file exists and ``force`` is False.
    """
    root = Path(repo)
    if not root.is_dir():
        raise CIError(f"{root} is not a folder (give the student repository's root)")
    text = render(provider, opts)
    target = root / PROVIDERS[provider]
    if target.exists() and not force:
        raise CIError(f"{target} already exists; use --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


# -- GitHub Classroom ----------------------------------------------------------------------
def classroom_result(report: dict | None, problem: str = "") -> dict:
    """GitHub Classroom's runner result for dlgrade's JSON report (contract §4).

    Args:
        report: the parsed ``--json`` report, or None when there is none.
        problem: why there is no report (shown to the student as the one test's message).

    Returns:
        ``{"version": 1, "status", "max_score", "tests": [...]}`` with one test per check
        (skipped checks are left out: they count toward neither score nor max_score); every
        message is neutralised and cut to :data:`CLASSROOM_MESSAGE_CHARS`.
    """
    from grader.report.terminal import neutralise
    if report is None:
        return {"version": 1, "status": "error", "max_score": 0,
                "tests": [{"name": "dlgrade", "status": "error", "score": 0, "line_no": None,
                           "execution_time": "0ms",
                           "message": neutralise(problem or "dlgrade wrote no report")}]}
    tests = []
    for ex in report.get("exercises", []):
        for c in ex.get("checks", []):
            if c.get("status") == "skip":
                continue
            msg = neutralise(str(c.get("message", "")))
            if len(msg) > CLASSROOM_MESSAGE_CHARS:
                msg = msg[: CLASSROOM_MESSAGE_CHARS - 1] + "…"
            tests.append({"name": neutralise(f"{ex.get('id')} {ex.get('name')}: {c.get('name')} "
                                             f"({c.get('max_score', 0):g} pts)"),
                          "status": {"pass": "pass", "fail": "fail"}.get(c.get("status"), "error"),
                          "message": msg or None, "line_no": None,
                          "execution_time": f"{round(1000 * float(c.get('duration_s', 0)))}ms",
                          "score": float(c.get("score", 0))})
    if any(t["status"] == "fail" for t in tests):
        status = "fail"
    elif any(t["status"] == "error" for t in tests):
        status = "error"
    else:
        status = "pass"
    return {"version": 1, "status": status, "max_score": float(report.get("max_score", 0)),
            "tests": tests}


def encode_classroom(result: dict) -> str:
    """Base64 of the compact JSON of ``result`` (what the reporter decodes)."""
    return base64.b64encode(json.dumps(result, separators=(",", ":")).encode()).decode("ascii")


# -- command line --------------------------------------------------------------------------
@click.group("ci")
def ci_group() -> None:
    """Set up and feed CI grading of a student repository."""


@ci_group.command("init")
@click.option("--provider", type=click.Choice(sorted(PROVIDERS)), default="github",
              show_default=True, help="CI service of the student repository.")
@click.option("--path", "repo", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Root of the student repository.")
@click.option("--install", default=WorkflowOptions.install, show_default=True,
              help="pip requirement that installs dlgrade in CI (e.g. a git URL).")
@click.option("--python", "python_version", default="3.11", show_default=True)
@click.option("--classroom/--no-classroom", default=True, show_default=True,
              help="(github) report the points to GitHub Classroom.")
@click.option("--torch-index", default=TORCH_CPU_INDEX, show_default=True,
              help="Extra pip index for CPU-only torch ('' for none).")
@click.option("--perf/--no-perf", default=False, show_default=True,
              help="Run the performance checks in CI.")
@click.option("--force", is_flag=True, help="Replace an existing workflow file.")
def ci_init(provider, repo, install, python_version, classroom, torch_index, perf, force) -> None:
    """Write a CI workflow that grades the repository with `dlgrade check --all`."""
    opts = WorkflowOptions(install=install, python=python_version, classroom=classroom,
                           torch_index=torch_index, perf=perf)
    target = init(repo, provider, opts, force)
    click.echo(f"wrote {target}")
    if provider == "github" and classroom:
        click.echo("GitHub Classroom reads the points from the 'Autograding Tests' check run; "
                   "leave the workflow's name as it is.")


@ci_group.command("classroom")
@click.argument("report_json", type=click.Path(dir_okay=False))
@click.option("--output", "output_file", default=None,
              help="File to append 'result=<base64>' to (default: $GITHUB_OUTPUT, else stdout).")
def ci_classroom(report_json, output_file) -> None:
    """Turn a `dlgrade check --json` REPORT_JSON into GitHub Classroom's runner result.

    Always exits 0 (the grading step already failed the job when checks failed); with no
    readable report it reports a single errored test, so Classroom still gets a result.
    """
    report, problem = None, ""
    try:
        report = json.loads(Path(report_json).read_text(encoding="utf-8"))
        if not isinstance(report, dict):
            report, problem = None, f"{report_json} is not a dlgrade report"
    except FileNotFoundError:
        problem = (f"dlgrade wrote no report ({report_json} is missing): see the 'Grade with "
                   "dlgrade' step's log")
    except (OSError, ValueError) as exc:
        problem = f"cannot read {report_json}: {exc}"
    result = classroom_result(report, problem)
    line = f"result={encode_classroom(result)}\n"
    target = output_file or os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(line)
    else:
        click.echo(line, nl=False)
    points = sum(t["score"] for t in result["tests"])
    click.echo(f"GitHub Classroom result: {points:g}/{result['max_score']:g} points, "
               f"status {result['status']}", err=bool(not target))
