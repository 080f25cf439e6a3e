"""The ``dlgrade`` command line (contract §3). Thin: parse, call :func:`grader.engine.grade`, report.

Exit status: 0 every check passed; 1 some check failed; 2 the command was used wrongly or the
grader itself broke.
"""
from __future__ import annotations

import os

# Timing and stability: one thread per BLAS/OpenMP pool, set before numpy or torch is imported
# anywhere (student processes inherit it through the fork server).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
from rich.console import Console  # noqa: E402

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
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlgrade")
def cli() -> None:
    """dlgrade: exercises and a fair autograder for deep-learning building blocks."""


def main() -> None:
    """Console entry point: any unexpected exception is the grader's fault and exits 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        click.echo("dlgrade: internal error (a bug in dlgrade, not in your code); exit 2", err=True)
        sys.exit(2)


@cli.command()
@click.argument("exercise_ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Grade every exercise.")
@click.option("--path", "path", default=".", show_default=True,
              help="Student repository, folder of modules, or a single file.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Seed of the random inputs (printed; a fresh one is drawn if omitted).")
@click.option("--json", "json_path", default=None, help="Write the JSON report here ('-': stdout).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu",
              show_default=True, help="Device of the torch exercises' checks.")
@click.option("--no-perf", is_flag=True, help="Skip the performance checks.")
def check(exercise_ids, all_, path, seed, json_path, device, no_perf) -> None:
    """Grade EXERCISE_IDS (ex04, ex4, 4 or dropout) of the submission at --path."""
    to_stdout = json_path == "-"
    console = Console(stderr=to_stdout, highlight=False,
                      width=None if sys.stdout.isatty() else 120)
    exercises = _resolve_exercises(exercise_ids, all_)
    if not Path(path).exists():
        raise UsageFailure(f"--path {path}: no such file or folder")
    for target in (json_path,):
        if target and target != "-":
            parent = Path(target).resolve().parent
            if not parent.is_dir() or not os.access(parent, os.W_OK):
                raise UsageFailure(f"cannot write the report to {target}: "
                                   f"{parent} is not a writable folder")
    dev = _resolve_device(device, exercises)
    if dev == "cuda" and device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise UsageFailure("--device cuda: no CUDA device is available (use --device auto)")
    if seed is None:
        seed = secrets.randbelow(2**31)
    console.print(f"dlgrade {__version__}: grading {', '.join(e.id for e in exercises)} "
                  f"in {path} with seed {seed} on {dev}")
    from grader.engine import Options, grade
    from grader.report.terminal import print_report

    def progress(ex, result):
        if result is None and console.is_terminal:
            console.print(f"[dim]… {ex.id} {ex.slug}[/dim]")

    report = grade(exercises, path, Options(seed=seed, device=dev, perf=not no_perf), progress)
    print_report(report, console)
    if json_path:
        text = json.dumps(report.to_dict(), indent=2)
        if to_stdout:
            sys.stdout.write(text + "\n")
        else:
            Path(json_path).write_text(text + "\n", encoding="utf-8")
    sys.exit(report.exit_code())


@cli.command("list")
@click.option("--path", "path", default=".", show_default=True, help="Student repository.")
def list_(path) -> None:
    """List the exercises and whether their file is present in --path."""
    from rich.table import Table
    from grader.engine import locate
    from grader.exercises import all_exercises
    table = Table(title="dlgrade exercises")
    for col in ("id", "name", "backend", "functions", "points", "file"):
        table.add_column(col)
    for ex in all_exercises():
        file = locate(ex, path) if Path(path).is_dir() else None
        table.add_row(ex.id, ex.slug, ex.backend, ", ".join(f.name for f in ex.functions),
                      f"{ex.max_score:g}", str(file) if file else "[red]missing[/red]")
    Console(highlight=False).print(table)


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


if __name__ == "__main__":  # pragma: no cover
    main()
