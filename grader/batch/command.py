"""``dlgrade grade-batch``: the command line of :func:`grader.batch.run.run_batch`."""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import click

from grader.runner.process import Limits

#: ``[batch.slurm]`` keys -> :class:`SlurmOptions` fields.
SLURM_FIELDS = {"partition": "partition", "account": "account", "time": "time_min",
                "gpus_per_task": "gpus_per_task", "cpus_per_task": "cpus_per_task",
                "mem_gb": "mem_gb", "array_parallelism": "array_parallelism",
                "students_per_task": "students_per_task", "setup": "setup", "python": "python",
                "sbatch": "sbatch"}


def _limits(course, call_timeout, budget) -> Limits | dict:
    """The student-process limits: the course's ``[limits]`` with the explicit command-line
    values on top."""
    changes = {k: v for k, v in (("call_timeout_s", call_timeout), ("budget_s", budget))
               if v is not None}
    if course.limits:
        out = {ex: replace(lim, **changes) for ex, lim in course.limits.items()}
        bad = [ex for ex, lim in out.items() if lim.budget_s < lim.call_timeout_s]
    else:
        out = replace(Limits(), **changes)
        bad = [] if out.budget_s >= out.call_timeout_s else ["all"]
    if bad:
        raise click.UsageError("--budget must be at least --call-timeout")
    return out


def _slurm_options(course, given: dict):
    from grader.batch.spec import SlurmOptions
    values = {SLURM_FIELDS[k]: v for k, v in course.batch_slurm.items()}
    values.update({k: v for k, v in given.items() if v is not None})
    if "setup" in values:
        values["setup"] = tuple(values["setup"])
    return SlurmOptions(**values)


@click.command("grade-batch")
@click.argument("submissions_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=os.cpu_count() or 1,
              show_default="number of CPUs", help="Grader worker processes (--executor local).")
@click.option("--csv", "csv_path", default="grades.csv", show_default=True,
              type=click.Path(dir_okay=False), help="Grades CSV: one row per student.")
@click.option("-e", "--exercise", "exercise_ids", multiple=True,
              help="Exercise to grade (repeatable; default: all).")
@click.option("--reports", "reports_dir", default=None, type=click.Path(file_okay=False),
              help="Folder of per-student JSON reports [default: <csv stem>-reports].")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Seed for every student (default: the batch's own, drawn by its first run).")
@click.option("--force", is_flag=True, help="Grade unchanged students again.")
@click.option("--no-perf", is_flag=True, help="Skip the performance checks.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=None,
              help="Device of the torch exercises [default: the course's, else cpu]; with "
                   "Slurm it applies in each task, on the task's GPU.")
@click.option("--call-timeout", type=click.FloatRange(0.1), default=None,
              help=f"Seconds one call into student code may take [default: "
                   f"{Limits.call_timeout_s:g}, or the course's].")
@click.option("--budget", type=click.FloatRange(0.1), default=None,
              help=f"Seconds all calls of one exercise may take together [default: "
                   f"{Limits.budget_s:g}, or the course's].")
@click.option("--no-progress", is_flag=True, help="No progress bar (one line per student).")
@click.option("--executor", type=click.Choice(["local", "slurm"]), default="local",
              show_default=True,
              help="Where to grade: worker processes here, or a Slurm job array.")
@click.option("--partition", default=None, help="Slurm partition [default: [batch.slurm]'s].")
@click.option("--account", default=None, help="Slurm account [default: [batch.slurm]'s].")
@click.option("--gpus-per-task", type=click.IntRange(0), default=None,
              help="GPUs each array task asks for (sbatch --gpus-per-task).")
@click.option("--time", "time_min", type=click.FloatRange(0, min_open=True), default=None,
              help="Time limit of one array task in minutes [default: 5 + 0.5 per "
                   "student-exercise of the task].")
@click.option("--array-parallelism", type=click.IntRange(1), default=None,
              help="Array tasks running at once.")
@click.option("--students-per-task", type=click.IntRange(1), default=None,
              help="Students one array task grades [default: 10].")
def grade_batch_command(submissions_dir, jobs, csv_path, exercise_ids, reports_dir, seed, force,
                        no_perf, device, call_timeout, budget, no_progress, executor, partition,
                        account, gpus_per_task, time_min, array_parallelism, students_per_task):
    """Grade every student folder in SUBMISSIONS_DIR; one CSV row per student.

    \b
    The course configuration ($DLGRADE_CONFIG, else dlgrade.toml or [tool.dlgrade] in the
    current directory, never in a submission) sets points, thresholds, limits, device and
    [batch.slurm].
    Exit status: 0 every student has a row graded by dlgrade (whatever the scores);
    1 some rows are 'grader-error' (dlgrade itself failed there: re-run);
    2 wrong usage, or Slurm refused the job array; 130 interrupted (finished rows are kept;
    re-run the same command to continue, with the same seed).
    """
    from rich.console import Console

    from grader.batch.rows import STATUSES
    from grader.batch.run import run_batch
    from grader.batch.spec import BatchOptions
    from grader.config import ConfigError, apply, load
    from grader.exercises import UnknownExercise, all_exercises, resolve
    from grader.report.terminal import neutralise
    try:
        chosen = [resolve(e) for e in exercise_ids] if exercise_ids else all_exercises()
    except UnknownExercise as exc:
        raise click.UsageError(exc.args[0]) from None
    chosen = list(dict.fromkeys(chosen))
    try:
        from grader.discovery import discover
        # $DLGRADE_CONFIG, the packaged one, or the current directory's unless it is inside
        # SUBMISSIONS_DIR: never a student's own file.
        course = load(discover(submissions_dir, repository=False).file)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    parent = Path(csv_path).resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise click.UsageError(f"--csv {csv_path}: {parent} is not a writable folder")
    explicit_device = device is not None  # an explicit --device wins over per-exercise ones
    device = device or course.device or "cpu"
    slurm = _slurm_options(course, {"partition": partition, "account": account,
                                    "gpus_per_task": gpus_per_task, "time_min": time_min,
                                    "array_parallelism": array_parallelism,
                                    "students_per_task": students_per_task})
    if executor == "slurm":
        try:
            import submitit  # noqa: F401
        except ImportError:
            raise click.UsageError("--executor slurm needs submitit: pip install "
                                   "'dlgrade[slurm]'") from None
        if shutil.which("sbatch") is None:
            raise click.UsageError("--executor slurm: no sbatch on PATH (run grade-batch on a "
                                   "login node of the cluster)")
    if executor == "local" and device == "cuda" and any(e.backend == "torch" for e in chosen):
        import torch
        if not torch.cuda.is_available():
            raise click.UsageError("--device cuda: no CUDA device is available here (use "
                                   "--device auto, or --executor slurm --gpus-per-task 1)")
    opts = BatchOptions(exercises=apply(course, chosen), seed=seed, seed_given=seed is not None,
                        jobs=jobs, force=force, perf=not no_perf and course.perf is not False,
                        device=device, limits=_limits(course, call_timeout, budget),
                        course=course if course.source else None,
                        devices={} if explicit_device else dict(course.devices),
                        executor=executor, slurm=slurm)
    console = Console(stderr=True, highlight=False)
    from grader.batch.spec import SlurmError
    try:
        summary = run_batch(submissions_dir, csv_path, opts, reports_dir, console,
                            progress=not no_progress)
    except SlurmError as exc:
        console.print(f"dlgrade: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    counts = {s: sum(r.get("status") == s for r in summary.rows.values()) for s in STATUSES}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if summary.interrupted:
        console.print(f"dlgrade: interrupted after {len(summary.graded)} student(s); their rows "
                      f"are in {csv_path}. Run the same command again to grade the rest "
                      f"(seed {summary.seed} is kept).", markup=False, soft_wrap=True)
        sys.exit(130)
    minutes = summary.duration_s / 60
    rate = len(summary.graded) / minutes if minutes > 0 else 0.0
    resumed = f" (+{len(summary.adopted)} from an interrupted run)" if summary.adopted else ""
    console.print(f"dlgrade: {len(summary.rows)} student(s) in {csv_path} ({tally or 'none'}); "
                  f"graded {len(summary.graded)}{resumed}, unchanged {len(summary.skipped)}, in "
                  f"{summary.duration_s:.1f} s ({rate:.1f} students/min), seed {summary.seed}",
                  markup=False, soft_wrap=True)
    if summary.grader_errors:
        console.print("dlgrade: the grader failed for "
                      + ", ".join(neutralise(s) for s in summary.grader_errors)
                      + "; re-run the command (they will be graded again)", markup=False,
                      soft_wrap=True)
        sys.exit(1)
