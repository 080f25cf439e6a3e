"""The batch front end: which students to grade, the batch's seed, the CSV rows as reports
arrive, the progress bar, Ctrl-C; the grading itself is the executor's (local.py, slurm.py)."""
from __future__ import annotations

import csv
import os
import signal
import time
from pathlib import Path

from grader import __version__
from grader.batch.chunk import (critical, finalize, partial_path, read_report, report_from_dict,
                                report_path)
from grader.batch.rows import (FINAL_STATUSES, cell, columns, discover, fingerprint, read_rows,
                               row_for, write_atomic)
from grader.batch.spec import BatchOptions, BatchSpec, BatchSummary, StudentJob, batch_seed

COLOURS = {"pass": "green", "fail": "yellow", "error": "red", "grader-error": "magenta"}


def run_batch(submissions: str | os.PathLike, csv_path: str | os.PathLike, opts: BatchOptions,
              reports_dir: str | os.PathLike | None = None, console=None,
              progress: bool = True) -> BatchSummary:
    """Grade every student folder in ``submissions``; see :mod:`grader.batch`.

    Args:
        submissions: the folder of student folders.
        csv_path: the grades CSV (created, or updated in place).
        opts: :class:`BatchOptions` (``executor`` "local" or "slurm").
        reports_dir: where each student's JSON report goes (default ``<csv stem>-reports``
            beside the CSV); with Slurm it must be on a filesystem the nodes share.
        console: a ``rich.console.Console`` for the log (default: stderr).
        progress: show a rich progress bar with ETA (when the console is a terminal).

    Returns:
        The :class:`BatchSummary`. On Ctrl-C/SIGTERM the workers are killed (Slurm: the batch's
        jobs are cancelled), every finished row is already on disk, and the summary has
        ``interrupted=True``.

    Raises:
        NotADirectoryError: ``submissions`` is not a folder.
        grader.batch.slurm.SlurmError: Slurm refused the job array (nothing was graded).
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from grader.report.terminal import neutralise
    t_start = time.perf_counter()
    console = console or Console(stderr=True, highlight=False)
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise NotADirectoryError(f"{submissions} is not a folder")
    csv_path = Path(csv_path)
    reports = Path(reports_dir) if reports_dir else csv_path.with_name(csv_path.stem + "-reports")
    reports.mkdir(parents=True, exist_ok=True)
    students = discover(submissions, exclude=(reports, csv_path.parent))
    header = columns(opts.exercises)
    old = read_rows(csv_path)
    seed, seed_source = batch_seed(opts, reports, old)
    spec = BatchSpec(exercise_ids=tuple(e.id for e in opts.exercises), seed=seed,
                     device=opts.device, perf=opts.perf, limits=opts.limits,
                     devices=dict(opts.devices), course=opts.course,
                     reports=str(reports.resolve()), executor=opts.executor)

    # Which students to grade: fingerprints against the rows already there.
    keep, todo = {}, []
    for folder in students:
        fp = fingerprint(folder, opts)
        prev = old.get(cell(folder.name))
        unchanged = (prev is not None and prev.get("fingerprint") == fp
                     and prev.get("status") in FINAL_STATUSES and list(prev.keys()) == header
                     and (not opts.seed_given or prev.get("seed") == str(seed)))
        if unchanged and not opts.force:
            keep[folder.name] = prev
        else:
            todo.append(StudentJob(folder.name, str(folder.resolve()), fp,
                                   order=spec.exercise_ids))
    write_atomic(csv_path, header, [keep[s.name] for s in students if s.name in keep])
    summary = BatchSummary(rows=dict(keep), graded=[], skipped=sorted(keep), seed=seed)
    if keep:
        console.print(f"dlgrade: {len(keep)} unchanged student(s) kept from {csv_path} "
                      "(--force grades them again)", markup=False, soft_wrap=True)
    # A complete report that an interrupted run left for this batch is taken as it is; any
    # other report of a student to grade is stale. --force grades everyone from scratch.
    adopt, jobs = [], []
    for job in todo:
        data = None if opts.force else read_report(spec, job)
        if data is not None and not data.get("internal_errors"):
            adopt.append(job)
            continue
        stale = [report_path(reports, job.name)] + ([partial_path(reports, job.name)]
                                                     if opts.force else [])
        for path in stale:
            try:
                os.unlink(path)
            except OSError:
                pass
        jobs.append(job)
    how = (f"in a Slurm job array ({opts.slurm.students_per_task} student(s) per task)"
           if opts.executor == "slurm" else f"with {opts.jobs} worker(s)")
    console.print(f"dlgrade {__version__}: grading {len(jobs)} student(s) x "
                  f"{len(opts.exercises)} exercise(s) {how}, seed {seed} ({seed_source})",
                  markup=False, soft_wrap=True)

    by_name = {j.name: j for j in todo}
    n_ex = len(opts.exercises)
    ticks: dict[str, int] = {}
    out = open(csv_path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in finally
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    bar = Progress(TextColumn("[bold]grading[/bold]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("exercises · {task.fields[students]} students · "
                              "{task.fields[state]}"),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=console, disable=not (progress and console.is_terminal))
    bar_id = bar.add_task("grading", total=n_ex * len(todo), students=f"0/{len(todo)}",
                          state="starting")

    def tick(name: str) -> None:
        if name in by_name and name not in summary.rows and ticks.get(name, 0) < n_ex:
            ticks[name] = ticks.get(name, 0) + 1
            bar.advance(bar_id)

    def status(text: str) -> None:
        bar.update(bar_id, state=text)

    def on_report(name: str, adopted: bool = False) -> None:
        """The student's report is on disk: write their row (once)."""
        job = by_name.get(name)
        if job is None or name in summary.rows:
            return
        data = read_report(spec, job)
        if data is None:  # cannot happen unless the file was removed under us: never lose it
            finalize(spec, job, {}, reason="its report file disappeared")
            data = read_report(spec, job)
        report = report_from_dict(data)
        try:
            rel = os.path.relpath(report_path(reports, name), csv_path.parent)
        except ValueError:
            rel = str(report_path(reports, name))
        row = row_for(name, report, job.fingerprint, rel, float(data.get("duration_s", 0.0)))
        with critical():
            writer.writerow(row)
            out.flush()
            os.fsync(out.fileno())
            summary.rows[name] = row
            (summary.adopted if adopted else summary.graded).append(name)
        bar.advance(bar_id, n_ex - ticks.get(name, 0))
        ticks[name] = n_ex
        done = len(summary.graded) + len(summary.adopted)
        bar.update(bar_id, students=f"{done}/{len(todo)}")
        colour = COLOURS[row["status"]]
        line = (f"{escape(neutralise(name))}: [{colour}]{row['status']}[/{colour}] "
                f"{row['score']}/{row['max_score']}")
        if row["errors"]:
            line += f"  [dim]{escape(row['errors'][:160])}[/dim]"
        bar.console.print(line, highlight=False, soft_wrap=True)

    # Ctrl-C, SIGTERM, and a closed terminal (SIGHUP, unless nohup ignores it) all stop the
    # batch the same way: finished rows kept, workers killed, Slurm tasks cancelled.
    stops = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        stops.append(signal.SIGHUP)
    old_handlers = {sig: signal.getsignal(sig) for sig in stops}

    def _interrupt(signum, frame):
        critical.request(KeyboardInterrupt())

    try:
        for sig in old_handlers:
            signal.signal(sig, _interrupt)
        with bar:
            for job in adopt:
                on_report(job.name, adopted=True)
            if adopt:
                console.print(f"dlgrade: {len(adopt)} report(s) an interrupted run had finished "
                              "were taken as they are", markup=False, soft_wrap=True)
            if jobs and opts.executor == "slurm":
                from grader.batch.slurm import run_slurm
                run_slurm(spec, jobs, opts, on_report, tick, status, console)
            elif jobs:
                from grader.batch.local import run_local
                run_local(spec, jobs, opts, on_report, tick, status)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        critical.pending = None
        out.close()
    if not summary.interrupted:
        # A clean, sorted file at the end (atomic), whatever order students finished in.
        write_atomic(csv_path, header,
                     [summary.rows[s.name] for s in students if s.name in summary.rows])
    summary.duration_s = time.perf_counter() - t_start
    return summary
