"""Grading student repositories in CI: ``dlgrade ci init`` and ``dlgrade ci classroom``.

``dlgrade ci init [--provider github|gitlab]`` writes a workflow into a student repository
(rendered from the jinja2 templates in ``grader/templates/ci/``) that installs the grader, runs
``dlgrade check --all`` with every report format (the same checks a student runs locally), and
keeps the reports:

* GitHub Actions: ``.github/workflows/dlgrade.yml``. ``dlgrade check`` itself appends the
  markdown summary to ``$GITHUB_STEP_SUMMARY``; the reports are uploaded with
  ``actions/upload-artifact``; with ``--classroom`` (the default) the points reach GitHub
  Classroom through ``classroom-resources/autograding-grading-reporter``.
* GitLab CI: ``.gitlab-ci.yml`` with the JUnit file as ``artifacts:reports:junit``.

What installs the grader is named once, in the job's ``DLGRADE_INSTALL`` variable: by default
the wheel vendored in the repository (:mod:`grader.vendor`; checked against
``.dlgrade/SHA256SUMS`` first), or ``--install SPEC`` (a published package, a git URL; a private
index with ``--extra-index-url``). torch is installed first, pinned (``TORCH_VERSION``), from
PyTorch's CPU wheel index (``TORCH_INDEX_URL``; empty: pip's default index), so that no other
requirement pulls a CUDA build of several GB. pip's downloads are cached between runs.

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
from dataclasses import dataclass, field
from pathlib import Path

import click

from grader import __version__

PROVIDERS = {"github": Path(".github/workflows/dlgrade.yml"), "gitlab": Path(".gitlab-ci.yml")}
#: Where the CPU-only torch wheels live (a few hundred MB instead of several GB of CUDA wheels).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: The torch release the course's grader is tested with (README: ``torch==2.13.0``).
TORCH_VERSION = "2.13.0"
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
        install: the pip requirement that installs dlgrade (a published ``dlgrade==X``, a git
            URL, ...); None: the wheel vendored in the repository (``vendored``).
        vendored: the repository-relative path of the vendored wheel (``.dlgrade/....whl``).
        extra_index_url: a private package index pip also reads ("" for none).
        python: the Python version of the CI image.
        classroom: (GitHub) add the GitHub Classroom reporter steps.
        torch: the pinned torch version, installed before anything else.
        torch_index: pip index for that torch ("" for pip's default index).
        perf: run the performance checks, as ``dlgrade check --all`` does locally (off: CI's
            points leave them out, and the student README says so).
        timeout_minutes: the job's time limit.
        workflow_name: the workflow's and job's name ("Autograding Tests" is the check run name
            GitHub Classroom's reporter looks for).
    """

    install: str | None = None
    vendored: str | None = None
    extra_index_url: str = ""
    python: str = "3.11"
    classroom: bool = True
    torch: str = TORCH_VERSION
    torch_index: str = TORCH_CPU_INDEX
    perf: bool = True
    timeout_minutes: int = 30
    workflow_name: str = "Autograding Tests"
    report_files: list[str] = field(default_factory=lambda: [REPORT_JSON, REPORT_JUNIT,
                                                              REPORT_GRADESCOPE])

    @property
    def install_spec(self) -> str:
        """What ``pip install`` is given for the grader.

        Raises:
            CIError: neither ``install`` nor ``vendored`` is set.
        """
        if self.install:
            return self.install
        if self.vendored:
            return self.vendored
        raise CIError("no grader to install: run `dlgrade release` (it vendors the grader's "
                      "wheel), or give --source COURSE_CHECKOUT (vendor a wheel) or "
                      "--install SPEC (a published package or git URL)")


def _environment():
    import jinja2
    env = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates/ci"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    # A JSON string is a valid YAML double-quoted scalar: every value is quoted this way.
    env.filters["q"] = lambda v: json.dumps(str(v))
    return env


def check_command(opts: WorkflowOptions) -> str:
    """The shell command the workflow grades with (``dlgrade check --all`` and the reports)."""
    cmd = (f"dlgrade check --all --json {REPORT_JSON} --junit-xml {REPORT_JUNIT} "
           f"--gradescope {REPORT_GRADESCOPE}")
    return cmd if opts.perf else cmd + " --no-perf"


def install_commands(opts: WorkflowOptions, provider: str = "github") -> list[str]:
    """The install step's shell lines, in order (POSIX sh; the job sets ``DLGRADE_INSTALL``,
    ``TORCH_VERSION`` and ``TORCH_INDEX_URL``).

    With a vendored wheel the first line checks it against ``.dlgrade/SHA256SUMS`` and ends the
    job with one clear line when it was changed (an ``::error`` annotation on GitHub).
    """
    lines = []
    if not opts.install:
        from grader.vendor import SUMS
        problem = (f"the vendored grader in .dlgrade/ was changed: its SHA-256 does not match "
                   f"{SUMS.as_posix()}. Restore the two files your instructor gave you "
                   f"(git log -- .dlgrade shows the commit that changed them)")
        shown = f"::error title=dlgrade install::{problem}" if provider == "github" else problem
        lines.append(f"sha256sum --check --strict {SUMS.as_posix()} || "
                     f"{{ echo {json.dumps(shown)}; exit 1; }}")
    lines.append('python -m pip install "torch==$TORCH_VERSION" '
                 '${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}')
    lines.append('python -m pip install "$DLGRADE_INSTALL"')
    return lines


def render(provider: str, opts: WorkflowOptions | None = None) -> str:
    """The workflow file's text for ``provider`` (``github`` or ``gitlab``).

    Raises:
        CIError: unknown provider, or no grader to install (see
            :attr:`WorkflowOptions.install_spec`).
    """
    if provider not in PROVIDERS:
        raise CIError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    opts = opts or WorkflowOptions()
    template = _environment().get_template(f"{'github.yml' if provider == 'github' else 'gitlab-ci.yml'}.j2")
    from grader.vendor import SUMS
    return template.render(
        version=__version__, python=opts.python, classroom=opts.classroom,
        torch=opts.torch, torch_index=opts.torch_index, timeout_minutes=int(opts.timeout_minutes),
        workflow_name=opts.workflow_name, report_files=opts.report_files,
        junit_file=REPORT_JUNIT, install_spec=opts.install_spec, vendored=not opts.install,
        extra_index_url=opts.extra_index_url, sums=SUMS.as_posix(),
        workflow_file=PROVIDERS[provider].as_posix(),
        install_commands=install_commands(opts, provider),
        check_command=check_command(opts),
        classroom_command=f"dlgrade ci classroom {REPORT_JSON}")


def init(repo: str | os.PathLike, provider: str = "github", opts: WorkflowOptions | None = None,
         force: bool = False) -> tuple[Path, bool]:
    """Write the workflow for ``provider`` into the repository at ``repo``.

    Without ``install`` or ``vendored`` in ``opts``, the wheel vendored in ``repo/.dlgrade``
    (as ``dlgrade release`` leaves it) is what the workflow installs.

    Returns:
        ``(file, written)``: ``written`` is False when the file already held exactly this text.

    Raises:
        CIError: ``repo`` is not a folder; the file exists with other content and ``force`` is
            False; no grader to install.
    """
    from grader.vendor import VendorError, vendored
    root = Path(repo)
    if not root.is_dir():
        raise CIError(f"{root} is not a folder (give the student repository's root)")
    opts = opts or WorkflowOptions()
    if not opts.install and not opts.vendored:
        try:
            opts.vendored = vendored(root)
        except VendorError as exc:
            raise CIError(str(exc)) from None
    text = render(provider, opts)
    target = root / PROVIDERS[provider]
    if target.exists():
        if target.read_text(encoding="utf-8", errors="replace") == text:
            return target, False
        if not force:
            raise CIError(f"{target} already exists with other content; use --force to "
                          "replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target, True


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
@click.option("--install", default=None,
              help="pip requirement that installs dlgrade in CI (a published package, a git URL) "
                   "instead of the wheel vendored in .dlgrade/.")
@click.option("--source", default=None, type=click.Path(file_okay=False),
              help="Course checkout to build the grader's wheel from and vendor into .dlgrade/.")
@click.option("--extra-index-url", default="", help="A private package index pip also reads.")
@click.option("--python", "python_version", default="3.11", show_default=True)
@click.option("--classroom/--no-classroom", default=True, show_default=True,
              help="(github) report the points to GitHub Classroom.")
@click.option("--torch-index", default=TORCH_CPU_INDEX, show_default=True,
              help="pip index of the pinned torch ('' for pip's default index).")
@click.option("--perf/--no-perf", default=True, show_default=True,
              help="Run the performance checks in CI (as `dlgrade check --all` does locally).")
@click.option("--force", is_flag=True, help="Replace an existing workflow file.")
def ci_init(provider, repo, install, source, extra_index_url, python_version, classroom,
            torch_index, perf, force) -> None:
    """Write a CI workflow that grades the repository with `dlgrade check --all`."""
    opts = WorkflowOptions(install=install, extra_index_url=extra_index_url, python=python_version,
                           classroom=classroom, torch_index=torch_index, perf=perf)
    if source and install:
        raise CIError("give --install or --source, not both")
    if source:
        import tempfile
        from grader.vendor import VendorError, build_wheel, vendor
        if not Path(repo).is_dir():
            raise CIError(f"{repo} is not a folder (give the student repository's root)")
        try:
            with tempfile.TemporaryDirectory() as tmp:
                wheel, _sums = vendor(repo, build_wheel(source, tmp))
        except VendorError as exc:
            raise CIError(str(exc)) from None
        opts.vendored = Path(wheel).relative_to(Path(repo)).as_posix()
        click.echo(f"vendored {wheel}")
    target, written = init(repo, provider, opts, force)
    click.echo(f"wrote {target}" if written else f"{target} is up to date")
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
