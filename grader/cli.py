"""The ``dlgrade`` command line (contract §3). Thin: parse, call :func:`grader.engine.grade`, report.

Exit status: 0 every check passed; 1 some check failed; 2 the command was used wrongly or the
grader itself broke.
"""
from __future__ import annotations

import os

from grader.launch import one_thread_per_pool

one_thread_per_pool()  # before numpy or torch is imported anywhere

import json  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402

from grader import __version__  # noqa: E402


class UsageFailure(click.ClickException):
    """Wrong use of the command (exit 2)."""

    exit_code = 2


def _resolve_exercises(names: tuple[str, ...], all_: bool):
    from grader.exercises import UnknownExercise, all_exercises, resolve
    if all_ and names:
        raise UsageFailure("give exercise ids or --all, not both")
    if all_:
        return all_exercises()
    if not names:
        raise UsageFailure("name at least one exercise (e.g. `dlgrade check ex01`) or use --all")
    try:
        chosen = [resolve(n) for n in names]
    except UnknownExercise as exc:
        raise UsageFailure(exc.args[0]) from None
    return list(dict.fromkeys(chosen))


def _resolve_device(device: str, exercises) -> str:
    if device == "cpu" or not any(e.backend == "torch" for e in exercises):
        return "cpu" if device != "cuda" else "cuda"
    if device == "auto" and not (os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0")
                                 or os.environ.get("CUDA_VISIBLE_DEVICES")):
        return "cpu"  # no NVIDIA driver: no need to import torch (1.7 s) to know
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlgrade")
def cli() -> None:
    """dlgrade: exercises and a fair autograder for deep-learning building blocks."""


def main(fast_exit: bool = True) -> None:
    """Console entry point: any unexpected exception is the grader's fault and exits 2.

    Always ends the process (``SystemExit``, or ``os._exit`` once torch is loaded and
    ``fast_exit`` is true: see :func:`_exit`). Callers that must survive it in-process (tests)
    pass ``fast_exit=False`` and catch ``SystemExit``.
    """
    code = 0
    try:
        # With standalone_mode=False click *returns* the code of ctx.exit(n) instead of exiting.
        result = cli.main(standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click.exceptions.Abort:
        code = 2
    except click.ClickException as exc:
        exc.show()
        code = 2
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except Exception:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        click.echo("dlgrade: internal error (a bug in dlgrade, not in your code); exit 2", err=True)
        code = 2
    if not fast_exit:
        sys.exit(code)
    _exit(code)


def _exit(code: int) -> None:
    """End the command with status ``code``.

    Once torch is loaded, the interpreter's teardown (torch's modules and C++ destructors) takes
    about 0.4 s after every report is written, which is a sixth of grading a torch exercise. So
    the exit hooks (``atexit``: multiprocessing's clean-up, logging) run and the standard streams
    are flushed here, and the process then ends at once with ``os._exit``. Without torch, a
    normal ``sys.exit``.
    """
    if "torch" not in sys.modules:
        sys.exit(code)
    import atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say there
            pass
    os._exit(code)


@cli.command()
@click.argument("exercise_ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Grade every exercise.")
@click.option("--path", "path", default=".", show_default=True,
              help="Student repository, folder of modules, or a single file.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Seed of the random inputs (printed; a fresh one is drawn if omitted).")
@click.option("--json", "json_path", default=None, help="Write the JSON report here ('-': stdout).")
@click.option("--junit-xml", "junit_path", default=None,
              help="Write a JUnit XML report here (one testcase per check).")
@click.option("--gradescope", "gradescope_path", default=None,
              help="Write Gradescope's results.json here.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu",
              show_default=True, help="Device of the torch exercises' checks.")
@click.option("--no-perf", is_flag=True, help="Skip the performance checks.")
@click.option("--config", "config_path", default=None, metavar="FILE",
              help="The course configuration (dlgrade.toml or pyproject.toml); default: "
                   "$DLGRADE_CONFIG, the packaged one, or the working directory's when it is not "
                   "inside the graded submission.")
def check(exercise_ids, all_, path, seed, json_path, junit_path, gradescope_path, device,
          no_perf, config_path) -> None:
    """Grade EXERCISE_IDS (ex04, ex4, 4 or dropout) of the submission at --path."""
    to_stdout = json_path == "-"
    console = Console(stderr=to_stdout, highlight=False,
                      width=None if sys.stdout.isatty() else 120)
    exercises = _resolve_exercises(exercise_ids, all_)
    if not Path(path).exists():
        raise UsageFailure(f"--path {path}: no such file or folder")
    for option, target in (("--junit-xml", junit_path), ("--gradescope", gradescope_path)):
        if target == "-":
            raise UsageFailure(f"{option} needs a file name (only --json can write to stdout)")
    for target in (json_path, junit_path, gradescope_path):
        if target and target != "-":
            if Path(target).is_dir():
                raise UsageFailure(f"cannot write the report to {target}: it is a folder")
            parent = Path(target).resolve().parent
            if not parent.is_dir() or not os.access(parent, os.W_OK):
                raise UsageFailure(f"cannot write the report to {target}: "
                                   f"{parent} is not a writable folder")
    from grader.config import ConfigError
    from grader.config import apply as apply_config, load as load_config
    from grader.discovery import discover
    try:  # the course configuration: never one inside the graded submission (grader/discovery.py)
        found = discover(path, explicit=config_path)
        course = load_config(found.file)  # validated against every exercise
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    exercises = apply_config(course, exercises)
    explicit = click.get_current_context().get_parameter_source("device") \
        is not click.core.ParameterSource.DEFAULT
    if course.device and not explicit:
        device = course.device
    devices = {} if explicit else {e.id: _resolve_device(course.devices[e.id], [e])
                                   for e in exercises if e.id in course.devices}
    no_perf = no_perf or course.perf is False
    dev = _resolve_device(device, exercises)
    if dev == "cuda" and device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise UsageFailure("--device cuda: no CUDA device is available (use --device auto)")
    if seed is None:
        seed = secrets.randbelow(2**31)
    console.print(f"dlgrade {__version__}: grading {', '.join(e.id for e in exercises)} "
                  f"in {path} with seed {seed} on {dev}")
    if found.file is not None or found.ignored:
        console.print(found.notice(), markup=False, soft_wrap=True)
    from grader.engine import Options, grade
    from grader.report.terminal import print_report

    def progress(ex, result):
        if result is None and console.is_terminal:
            console.print(f"[dim]… {ex.id} {ex.slug}[/dim]")

    opts = Options(seed=seed, device=dev, perf=not no_perf, devices=devices)
    if course.limits:
        opts.limits = course.limits
    report = grade(exercises, path, opts, progress)
    from rich.markup import escape
    from grader.notebook import unreadable_notebook
    bad_notebook = unreadable_notebook(path)
    if bad_notebook:  # one line, not the same error in every check's row
        console.print(f"[bold red]error:[/bold red] {escape(bad_notebook)}", soft_wrap=True)
    else:
        print_report(report, console)
    if json_path:
        text = json.dumps(report.to_dict(), indent=2)
        if to_stdout:
            sys.stdout.write(text + "\n")
        else:
            from grader.files import write_report_file
            try:  # a forged file, symlink or FIFO left at the path is replaced, never followed
                write_report_file(json_path, text + "\n")
            except OSError as exc:
                report.internal_errors.append(f"cannot write the JSON report to {json_path}: {exc}")
                console.print(f"dlgrade: cannot write the JSON report to {json_path}: {exc}",
                              markup=False)
    from grader.files import clear_report_paths
    clear_report_paths((junit_path, gradescope_path))
    from grader.report.summary import write_ci_reports
    write_ci_reports(report, console, junit_path=junit_path, gradescope_path=gradescope_path,
                     leaderboard=course.leaderboard)
    sys.exit(report.exit_code())


@cli.command("list")
@click.option("--path", "path", default=".", show_default=True, help="Student repository.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu",
              show_default=True, help="Count points as `dlgrade check --device` would.")
@click.option("--no-perf", is_flag=True, help="Count points as `dlgrade check --no-perf` would.")
@click.option("--config", "config_path", default=None, metavar="FILE",
              help="The course configuration, as `dlgrade check --config`.")
def list_(path, device, no_perf, config_path) -> None:
    """List the exercises, their points (as `dlgrade check` counts them) and their files."""
    from rich import box
    from rich.table import Table
    from grader.config import ConfigError
    from grader.config import apply as apply_config, load as load_config
    from grader.discovery import discover
    from grader.files import locate
    from grader.exercises import all_exercises
    from grader.release import judged_points
    try:
        found = discover(path, explicit=config_path)
        course = load_config(found.file)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    exercises = apply_config(course, all_exercises())
    explicit = click.get_current_context().get_parameter_source("device") \
        is not click.core.ParameterSource.DEFAULT
    dev = _resolve_device(device if explicit or not course.device else course.device, exercises)
    perf = not no_perf and course.perf is not False
    root = Path(path)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left",
                  title=f"dlgrade {__version__}: exercises in {path}")
    table.add_column("id", no_wrap=True)
    table.add_column("name: functions", ratio=1)
    table.add_column("backend", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("file", overflow="fold")
    total = 0.0
    for ex in exercises:
        file = locate(ex, path) if root.is_dir() else None
        shown = "[red]missing[/red]"
        if file is not None:
            shown = escape(str(file.relative_to(root) if file.is_relative_to(root) else file))
        points = judged_points(ex, cuda=dev == "cuda", perf=perf)
        total += points
        names = "".join(f"\n  [dim]{escape(f.name)}[/dim]" for f in ex.functions)
        table.add_row(ex.id, f"[bold]{escape(ex.slug)}[/bold]{names}", ex.backend, f"{points:g}",
                      shown)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 80)
    console.print(table)
    every = sum(judged_points(ex, cuda=True, perf=True) for ex in exercises)
    note = f"total {total:g} points, as `dlgrade check --all` counts them here (device {dev}"
    note += ", performance checks on)" if perf else ", performance checks off)"
    if every > total:
        note += (f"; {every - total:g} more with a GPU (--device cuda)" if perf
                 else f"; {every - total:g} points of checks not judged")
    console.print(note, markup=False, soft_wrap=False)
    if found.file is not None or found.ignored:
        console.print(found.notice(), markup=False, soft_wrap=True)


@cli.command()
@click.option("--solutions", default="solutions", show_default=True, type=click.Path(file_okay=False))
@click.option("--out", default="exercises", show_default=True, type=click.Path(file_okay=False))
def skeletons(solutions, out) -> None:
    """Regenerate the student skeletons in --out from the solutions in --solutions."""
    from grader.skeleton import MarkerError, generate
    try:
        written = generate(Path(solutions), Path(out))
    except MarkerError as exc:
        raise UsageFailure(str(exc)) from None
    for f in written:
        click.echo(f"wrote {f}")


# CI, release, batch and nbgrader commands live beside their code (grader/ci.py, release.py,
# batch/, nbgrader/commands.py).
from grader.batch import grade_batch_command  # noqa: E402
from grader.ci import ci_group  # noqa: E402
from grader.nbgrader.commands import nbgrader_group  # noqa: E402
from grader.release import release_command  # noqa: E402

cli.add_command(ci_group)
cli.add_command(release_command)
cli.add_command(grade_batch_command)
cli.add_command(nbgrader_group)


if __name__ == "__main__":  # pragma: no cover
    main()
