"""Whole-class grading on one machine: ``dlgrade grade-batch SUBMISSIONS_DIR -j N --csv grades.csv``.

``SUBMISSIONS_DIR`` holds one folder per student (a clone of the student's repository, or a folder
of exercise modules). Every (student, exercise) pair is one task; tasks run in ``N`` grader worker
processes (``multiprocessing`` with the *spawn* context: each worker is a fresh interpreter that
then starts its own fork server and student processes through :func:`grader.engine.grade`, the
same path as ``dlgrade check``). Tasks are handed out student by student, so students finish, and
their rows appear, in order.

Guarantees:

* One CSV row per student, appended, flushed and ``fsync``-ed the moment the student's last
  exercise is graded: an interrupted batch (Ctrl-C, a killed job, a power cut) loses no finished
  row. Each student's full report (the contract's JSON, plus ``student`` and ``fingerprint``) is
  written next to the CSV (``<csv stem>-reports/<student>.json`` by default).
* A submission that crashes, hangs, exits, is missing files or prints CI workflow commands gets its
  row like any other (the engine bounds every call with :class:`~grader.runner.process.Limits`).
  As a second line of defence a worker that dies or overruns the task's wall-clock backstop is
  killed with all its descendants and replaced; that exercise is reported ``grader-error`` and the
  batch goes on.
* Re-running skips a student whose row exists with the same *fingerprint*: the SHA-256 of the
  folder's content (relative paths and bytes of its regular files; ``.git``, caches and symlink
  targets excluded from reading) together with dlgrade's version and the grading options. A
  changed folder, a new dlgrade, other exercises or ``--force`` grade again.

CSV columns: ``student, status, score, max_score, <one column per exercise id>, checks_passed,
checks_not_passed, errors, seed, fingerprint, report, graded_at, duration_s, dlgrade_version``.
``status`` is ``pass`` (full marks), ``fail`` (some check failed), ``error`` (the submission could
not be run for some check: missing file, import failure, crash, hang, exception) or
``grader-error`` (dlgrade itself failed; re-run, and report it if it persists). Text cells are
neutralised and guarded against spreadsheet formula injection.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import stat
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__
from grader.results import CheckResult, ExerciseResult, Report
from grader.runner.process import Limits

#: Folder names never read for the fingerprint (version control, caches, editors).
IGNORED_DIRS = {".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache",
                ".ipynb_checkpoints", ".venv", "venv", "node_modules", ".idea", ".vscode"}
#: Files larger than this are fingerprinted by size and modification time instead of content.
HASH_CONTENT_LIMIT = 64 * 1024 * 1024
#: Longest error text per exercise in the CSV's ``errors`` cell.
ERROR_CELL_CHARS = 200
STATUSES = ("pass", "fail", "error", "grader-error")


@dataclass
class BatchOptions:
    """How to grade a batch.

    Attributes:
        exercises: the :class:`~grader.spec.Exercise` specs to grade for every student.
        seed: one seed for the whole batch (every student gets the same inputs: fair).
        seed_given: the seed was chosen by the user (then a row graded with another seed is
            graded again).
        jobs: number of grader worker processes.
        force: grade every student, even unchanged ones.
        perf: run the performance checks. device: "cpu" or "cuda".
        limits: :class:`Limits` of every student process.
        task_timeout_s: wall-clock backstop of one (student, exercise) task; default
            ``limits.budget_s + 2 * limits.call_timeout_s + 120`` (worker start and imports).
    """

    exercises: list
    seed: int
    seed_given: bool = False
    jobs: int = 2
    force: bool = False
    perf: bool = True
    device: str = "cpu"
    limits: Limits = field(default_factory=Limits)
    task_timeout_s: float | None = None

    def backstop_s(self) -> float:
        if self.task_timeout_s is not None:
            return float(self.task_timeout_s)
        return self.limits.budget_s + 2 * self.limits.call_timeout_s + 120.0


@dataclass
class BatchSummary:
    """What a batch did. ``rows``: the final CSV rows by student; ``graded``/``skipped``: names."""

    rows: dict[str, dict]
    graded: list[str]
    skipped: list[str]
    interrupted: bool = False
    duration_s: float = 0.0

    @property
    def grader_errors(self) -> list[str]:
        return [s for s, r in self.rows.items() if r.get("status") == "grader-error"]


# -- discovery and fingerprints ------------------------------------------------------------
def discover(submissions: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """The student folders in ``submissions``: its sub-folders, sorted by name, except hidden
    ones (``.x``), ``_x`` ones and the paths in ``exclude`` (the batch's own output)."""
    skip = {p.resolve() for p in exclude}
    out = []
    for child in sorted(submissions.iterdir(), key=lambda p: p.name):
        if child.name.startswith((".", "_")) or not child.is_dir():
            continue
        if child.resolve() in skip:
            continue
        out.append(child)
    return out


def folder_hash(folder: Path) -> str:
    """SHA-256 (hex) of a folder's content: relative paths and bytes of its regular files.

    Symbolic links contribute their target text (never followed: a link to ``/dev/zero`` cannot
    stall the batch); FIFOs, sockets and devices contribute their type only; folders in
    :data:`IGNORED_DIRS` are left out; files over :data:`HASH_CONTENT_LIMIT` contribute size and
    mtime. Unreadable entries contribute the error's name, so the hash is always defined.
    """
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        rel_dir = os.path.relpath(dirpath, folder)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            h.update(b"\0F" + rel.encode("utf-8", "surrogateescape") + b"\0")
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    h.update(b"L" + os.readlink(path).encode("utf-8", "surrogateescape"))
                elif not stat.S_ISREG(st.st_mode):
                    h.update(b"S" + str(stat.S_IFMT(st.st_mode)).encode())
                elif st.st_size > HASH_CONTENT_LIMIT:
                    h.update(f"B{st.st_size}:{st.st_mtime_ns}".encode())
                else:
                    with open(path, "rb") as fh:
                        for chunk in iter(lambda: fh.read(1 << 20), b""):
                            h.update(chunk)
            except OSError as exc:
                h.update(b"E" + type(exc).__name__.encode())
        for d in dirnames:  # empty folders count too
            h.update(b"\0D" + os.path.join(rel_dir, d).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def fingerprint(folder: Path, opts: BatchOptions) -> str:
    """:func:`folder_hash` combined with what else decides the grade (dlgrade version,
    exercises, device, perf); the first 32 hex digits."""
    h = hashlib.sha256()
    h.update(json.dumps({"v": __version__, "ex": [e.id for e in opts.exercises],
                         "device": opts.device, "perf": opts.perf}, sort_keys=True).encode())
    h.update(folder_hash(folder).encode())
    return h.hexdigest()[:32]


# -- results over the process boundary (grader <-> grader worker: trusted data) -------------
def exercise_from_dict(d: dict) -> ExerciseResult:
    """Rebuild an :class:`ExerciseResult` from :meth:`ExerciseResult.to_dict` output."""
    res = ExerciseResult(d["id"], d["name"], d["path"], duration_s=float(d.get("duration_s", 0)))
    for c in d.get("checks", []):
        res.checks.append(CheckResult(c["name"], c["kind"], c["status"], float(c["score"]),
                                      float(c["max_score"]), float(c.get("duration_s", 0)),
                                      c.get("message", ""), int(c.get("calls", 0)),
                                      c.get("description", ""), c.get("output", "")))
    return res


def _failed_exercise(ex, path: str, reason: str) -> ExerciseResult:
    """Every check of ``ex`` as ``error`` with ``reason`` (the grader could not finish it)."""
    res = ExerciseResult(ex.id, ex.slug, path)
    for c in ex.checks:
        res.checks.append(CheckResult(c.name, c.kind, "error", 0.0, float(c.points), 0.0,
                                      f"internal grader error: {reason} (not the student's "
                                      "fault; re-run the batch)", 0, c.description))
    return res


def _worker_main(conn, backends=("numpy",)) -> None:
    """A grader worker: receives tasks, grades them with :func:`grader.engine.grade`, answers.

    ``backends`` are those of every exercise of the batch: the worker's fork server preloads
    them all at once (a fork server started for a numpy task alone would make every later torch
    task's student process import torch itself, about 1.5 s each).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    from grader.engine import Options, grade
    from grader.exercises import resolve
    from grader.runner.process import warm_up
    warm_up(set(backends))
    try:
        conn.send({"ready": True})  # imports done: the parent's backstop clock starts per task
    except (OSError, ValueError):
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            limits = Limits(**task["limits"])
            report = grade([resolve(task["exercise"])], task["path"],
                           Options(seed=task["seed"], device=task["device"], perf=task["perf"],
                                   limits=limits))
            answer = {"id": task["id"], "result": report.exercises[0].to_dict(),
                      "internal_errors": list(report.internal_errors)}
        except BaseException:  # noqa: BLE001 - anything here is a grader bug: report, go on
            answer = {"id": task["id"], "crash": traceback.format_exc()}
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return


class _Worker:
    """One grader worker process and the task it is running."""

    def __init__(self, ctx, backends=("numpy",)):
        self.conn, child = ctx.Pipe(duplex=True)
        # Not a daemon: a worker starts processes of its own (fork server, student processes).
        self.proc = ctx.Process(target=_worker_main, args=(child, tuple(backends)),
                                name="dlgrade-batch-worker")
        self.proc.start()
        child.close()
        self.task: dict | None = None
        self.started = 0.0
        self.ready = False
        self.born = time.monotonic()

    def assign(self, task: dict) -> None:
        self.task = task
        self.started = time.monotonic()
        self.conn.send(task)

    def kill(self) -> None:
        """SIGKILL the worker and every process below it (its fork server, student processes)."""
        import psutil
        try:
            victims = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            victims = []
        for p in [*victims]:
            try:
                p.kill()
            except psutil.Error:
                pass
        try:
            self.proc.kill()
        except (OSError, ValueError, AttributeError):
            pass
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        """Ask the worker to finish, then make sure it and its descendants are gone."""
        try:
            self.conn.send(None)
            self.proc.join(5)
        except (OSError, ValueError):
            pass
        self.kill()


# -- the CSV --------------------------------------------------------------------------------
def _cell(text: str) -> str:
    """A text cell: neutralised, one line, not a spreadsheet formula."""
    from grader.report.terminal import neutralise
    text = neutralise(str(text)).replace("\n", " | ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text


def columns(exercises) -> list[str]:
    """The CSV header for ``exercises``."""
    return (["student", "status", "score", "max_score"] + [e.id for e in exercises]
            + ["checks_passed", "checks_not_passed", "errors", "seed", "fingerprint", "report",
               "graded_at", "duration_s", "dlgrade_version"])


def row_for(student: str, report: Report, fp: str, report_path: str, duration_s: float) -> dict:
    """The CSV row of one student's :class:`Report`."""
    checks = [c for e in report.exercises for c in e.checks]
    errors = []
    for ex in report.exercises:
        bad = [c for c in ex.checks if c.status == "error"]
        if bad:
            first = bad[0].message.split("\n  reproduce: ")[0].split("\n")[0]
            if len(first) > ERROR_CELL_CHARS:
                first = first[: ERROR_CELL_CHARS - 1] + "…"
            errors.append(f"{ex.id}: {first}")
    if report.internal_errors:
        status = "grader-error"
    elif any(c.status == "error" for c in checks):
        status = "error"
    elif report.passed:
        status = "pass"
    else:
        status = "fail"
    row = {"student": _cell(student), "status": status, "score": f"{report.score:g}",
           "max_score": f"{report.max_score:g}"}
    for ex in report.exercises:
        row[ex.id] = f"{ex.score:g}"
    row.update({"checks_passed": sum(c.status == "pass" for c in checks),
                "checks_not_passed": sum(c.status in ("fail", "error") for c in checks),
                "errors": _cell("; ".join(errors)), "seed": report.seed, "fingerprint": fp,
                "report": report_path,
                "graded_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
                "duration_s": f"{duration_s:.2f}", "dlgrade_version": __version__})
    return row


def read_rows(csv_path: Path) -> dict[str, dict]:
    """Rows of an existing grades CSV by student (empty when absent or unreadable); rows cut
    short by an interruption are dropped (their student is graded again)."""
    if not csv_path.is_file():
        return {}
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = {}
            for r in reader:
                if None in r.values() or None in r or len(r) != len(header):
                    continue
                rows[r["student"]] = r
            return rows
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}


def _write_atomic(path: Path, header: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# -- the batch ------------------------------------------------------------------------------
def run_batch(submissions: str | os.PathLike, csv_path: str | os.PathLike, opts: BatchOptions,
              reports_dir: str | os.PathLike | None = None, console=None,
              progress: bool = True) -> BatchSummary:
    """Grade every student folder in ``submissions``; see the module docstring.

    Args:
        submissions: the folder of student folders.
        csv_path: the grades CSV (created, or updated in place).
        opts: :class:`BatchOptions`.
        reports_dir: where each student's JSON report goes (default ``<csv stem>-reports``
            beside the CSV).
        console: a ``rich.console.Console`` for the log (default: stderr).
        progress: show a rich progress bar with ETA (when the console is a terminal).

    Returns:
        The :class:`BatchSummary`. On Ctrl-C/SIGTERM the workers are killed, every finished row
        is already on disk, and the summary has ``interrupted=True``.

    Raises:
        NotADirectoryError: ``submissions`` is not a folder.
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

    # Which students to grade: fingerprints against the rows already there.
    old = read_rows(csv_path)
    keep, todo, fps = {}, [], {}
    for folder in students:
        fp = fingerprint(folder, opts)
        fps[folder.name] = fp
        prev = old.get(_cell(folder.name))
        unchanged = (prev is not None and prev.get("fingerprint") == fp
                     and prev.get("status") in ("pass", "fail", "error")
                     and list(prev.keys()) == header
                     and (not opts.seed_given or prev.get("seed") == str(opts.seed)))
        if unchanged and not opts.force:
            keep[folder.name] = prev
        else:
            todo.append(folder)
    _write_atomic(csv_path, header, [keep[s.name] for s in students if s.name in keep])
    summary = BatchSummary(rows=dict(keep), graded=[], skipped=sorted(keep))
    if keep:
        console.print(f"dlgrade: {len(keep)} unchanged student(s) kept from {csv_path} "
                      "(--force grades them again)", markup=False, soft_wrap=True)
    console.print(f"dlgrade {__version__}: grading {len(todo)} student(s) x "
                  f"{len(opts.exercises)} exercise(s) with {opts.jobs} worker(s), seed {opts.seed}",
                  markup=False, soft_wrap=True)

    tasks = deque()
    state: dict[str, dict] = {}
    for folder in todo:
        state[folder.name] = {"folder": folder, "results": {}, "internal": [],
                              "left": len(opts.exercises), "t0": None}
        for ex in opts.exercises:
            tasks.append({"id": f"{folder.name}\0{ex.id}", "student": folder.name,
                          "exercise": ex.id, "path": str(folder.resolve()), "seed": opts.seed,
                          "device": opts.device, "perf": opts.perf,
                          "limits": {k: getattr(opts.limits, k)
                                     for k in opts.limits.__dataclass_fields__}})
    by_id = {e.id: e for e in opts.exercises}
    n_tasks = len(tasks)

    out = open(csv_path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in finally
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    bar = Progress(TextColumn("[bold]grading[/bold]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("exercises · {task.fields[students]} students"),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=console, disable=not (progress and console.is_terminal))
    ctx = multiprocessing.get_context("spawn")
    workers: list[_Worker] = []
    old_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Ctrl-C or SIGTERM while a row or report is being written waits until it is on disk.
    critical = {"inside": False, "pending": False}

    def _interrupt(signum, frame):
        if critical["inside"]:
            critical["pending"] = True
            return
        raise KeyboardInterrupt

    def finish_task(task: dict, result: ExerciseResult, internal: list[str]) -> None:
        st = state[task["student"]]
        st["results"][task["exercise"]] = result
        st["internal"] += internal
        st["left"] -= 1
        bar.advance(bar_id)
        if st["left"]:
            return
        name = task["student"]
        rep = Report(seed=opts.seed, device=opts.device,
                     exercises=[st["results"][e.id] for e in opts.exercises],
                     internal_errors=st["internal"])
        report_file = reports / f"{name}.json"
        data = rep.to_dict()
        data.update({"student": name, "fingerprint": fps[name]})
        try:
            rel = os.path.relpath(report_file, csv_path.parent)
        except ValueError:
            rel = str(report_file)
        row = row_for(name, rep, fps[name], rel, time.monotonic() - st["t0"])
        critical["inside"] = True
        try:
            tmp = report_file.with_name(report_file.name + ".tmp")
            tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, report_file)
            writer.writerow(row)
            out.flush()
            os.fsync(out.fileno())
            summary.rows[name] = row
            summary.graded.append(name)
        finally:
            critical["inside"] = False
        if critical["pending"]:
            raise KeyboardInterrupt
        bar.update(bar_id, students=f"{len(summary.graded)}/{len(todo)}")
        colour = {"pass": "green", "fail": "yellow", "error": "red",
                  "grader-error": "magenta"}[row["status"]]
        line = (f"{escape(neutralise(name))}: [{colour}]{row['status']}[/{colour}] "
                f"{row['score']}/{row['max_score']}")
        if row["errors"]:
            line += f"  [dim]{escape(row['errors'][:160])}[/dim]"
        bar.console.print(line, highlight=False, soft_wrap=True)

    try:
        for sig in old_handlers:
            signal.signal(sig, _interrupt)
        with bar:
            bar_id = bar.add_task("grading", total=n_tasks, students=f"0/{len(todo)}")
            backends = sorted({e.backend for e in opts.exercises})
            workers = ([_Worker(ctx, backends) for _ in range(max(1, min(opts.jobs, n_tasks)))]
                       if n_tasks else [])
            backstop = opts.backstop_s()
            startup_failures = 0
            while tasks or any(w.task for w in workers):
                for i, w in enumerate(workers):
                    if w.ready:
                        continue
                    try:
                        if w.conn.poll() and w.conn.recv().get("ready"):
                            w.ready, startup_failures = True, 0
                            continue
                    except (EOFError, OSError):
                        pass
                    if not w.proc.is_alive() or time.monotonic() - w.born > 300:
                        startup_failures += 1
                        if startup_failures > 5:
                            raise RuntimeError("cannot start grader worker processes (they die "
                                               "during start-up); see the messages above")
                        w.kill()
                        workers[i] = _Worker(ctx, backends)
                for w in workers:
                    if w.ready and w.task is None and tasks:
                        task = tasks.popleft()
                        if state[task["student"]]["t0"] is None:
                            state[task["student"]]["t0"] = time.monotonic()
                        w.assign(task)
                watched = [w for w in workers if w.task is not None or not w.ready]
                multiprocessing.connection.wait([w.conn for w in watched]
                                                + [w.proc.sentinel for w in watched], timeout=0.5)
                for i, w in enumerate(workers):
                    if w.task is None:
                        continue
                    task = w.task
                    ex = by_id[task["exercise"]]
                    answer, problem = None, ""
                    try:
                        if w.conn.poll():
                            answer = w.conn.recv()
                    except (EOFError, OSError):
                        problem = f"the grader worker died (exit code {w.proc.exitcode})"
                    if answer is None and not problem:
                        if not w.proc.is_alive():
                            problem = f"the grader worker died (exit code {w.proc.exitcode})"
                        elif time.monotonic() - w.started > backstop:
                            problem = f"grading this exercise took longer than {backstop:g} s"
                        else:
                            continue
                    if answer is not None and "result" in answer:
                        w.task = None
                        finish_task(task, exercise_from_dict(answer["result"]),
                                    [f"{task['student']} {e}" for e in answer["internal_errors"]])
                        continue
                    if answer is not None:  # the worker caught a grader exception
                        w.task = None
                        last = answer.get("crash", "").strip().splitlines()[-1:] or ["?"]
                        finish_task(task, _failed_exercise(ex, task["path"], last[0]),
                                    [f"{task['student']} {ex.id}: {answer.get('crash', '')}"])
                        continue
                    # Died or overran: kill it and everything below it, start a fresh one.
                    w.task = None
                    w.kill()
                    workers[i] = _Worker(ctx, backends)
                    finish_task(task, _failed_exercise(ex, task["path"], problem),
                                [f"{task['student']} {ex.id}: {problem}"])
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        for w in workers:
            if summary.interrupted:
                w.kill()
            else:
                w.stop()
        out.close()
    if not summary.interrupted:
        # A clean, sorted file at the end (atomic), whatever order students finished in.
        _write_atomic(csv_path, header,
                      [summary.rows[s.name] for s in students if s.name in summary.rows])
    summary.duration_s = time.perf_counter() - t_start
    return summary


# -- command line --------------------------------------------------------------------------
def _command():
    import click

    @click.command("grade-batch")
    @click.argument("submissions_dir", type=click.Path(exists=True, file_okay=False))
    @click.option("-j", "--jobs", type=click.IntRange(1, 256), default=os.cpu_count() or 1,
                  show_default="number of CPUs", help="Grader worker processes.")
    @click.option("--csv", "csv_path", default="grades.csv", show_default=True,
                  type=click.Path(dir_okay=False), help="Grades CSV: one row per student.")
    @click.option("-e", "--exercise", "exercise_ids", multiple=True,
                  help="Exercise to grade (repeatable; default: all).")
    @click.option("--reports", "reports_dir", default=None, type=click.Path(file_okay=False),
                  help="Folder of per-student JSON reports [default: <csv stem>-reports].")
    @click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
                  help="Seed for every student (default: a fresh one for this batch).")
    @click.option("--force", is_flag=True, help="Grade unchanged students again.")
    @click.option("--no-perf", is_flag=True, help="Skip the performance checks.")
    @click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
    @click.option("--call-timeout", type=click.FloatRange(0.1), default=Limits.call_timeout_s,
                  show_default=True, help="Seconds one call into student code may take.")
    @click.option("--budget", type=click.FloatRange(0.1), default=Limits.budget_s,
                  show_default=True, help="Seconds all calls of one exercise may take together.")
    @click.option("--no-progress", is_flag=True, help="No progress bar (one line per student).")
    def grade_batch(submissions_dir, jobs, csv_path, exercise_ids, reports_dir, seed, force,
                    no_perf, device, call_timeout, budget, no_progress):
        """Grade every student folder in SUBMISSIONS_DIR; one CSV row per student.

        \b
        Exit status: 0 every student has a row graded by dlgrade (whatever the scores);
        1 some rows are 'grader-error' (dlgrade itself failed there: re-run);
        2 wrong usage; 130 interrupted (finished rows are kept; re-run to continue).
        """
        import secrets
        from dataclasses import replace

        from rich.console import Console

        from grader.exercises import UnknownExercise, all_exercises, resolve
        from grader.report.terminal import neutralise
        try:
            exercises = ([resolve(e) for e in exercise_ids] if exercise_ids else all_exercises())
        except UnknownExercise as exc:
            raise click.UsageError(exc.args[0]) from None
        exercises = list(dict.fromkeys(exercises))
        parent = Path(csv_path).resolve().parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise click.UsageError(f"--csv {csv_path}: {parent} is not a writable folder")
        limits = replace(Limits(), call_timeout_s=call_timeout, budget_s=budget)
        opts = BatchOptions(exercises=exercises,
                            seed=seed if seed is not None else secrets.randbelow(2**31),
                            seed_given=seed is not None, jobs=jobs, force=force,
                            perf=not no_perf, device=device, limits=limits)
        console = Console(stderr=True, highlight=False)
        summary = run_batch(submissions_dir, csv_path, opts, reports_dir, console,
                            progress=not no_progress)
        counts = {s: sum(r.get("status") == s for r in summary.rows.values()) for s in STATUSES}
        tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        if summary.interrupted:
            console.print(f"dlgrade: interrupted after {len(summary.graded)} student(s); their rows "
                          f"are in {csv_path}. Run the same command again to grade the rest.",
                          markup=False, soft_wrap=True)
            sys.exit(130)
        minutes = summary.duration_s / 60
        rate = len(summary.graded) / minutes if minutes > 0 else 0.0
        console.print(f"dlgrade: {len(summary.rows)} student(s) in {csv_path} ({tally or 'none'}); "
                      f"graded {len(summary.graded)}, unchanged {len(summary.skipped)}, in "
                      f"{summary.duration_s:.1f} s ({rate:.1f} students/min)", markup=False,
                      soft_wrap=True)
        if summary.grader_errors:
            console.print("dlgrade: the grader failed for "
                          + ", ".join(neutralise(s) for s in summary.grader_errors)
                          + "; re-run the command (they will be graded again)", markup=False,
                          soft_wrap=True)
            sys.exit(1)

    return grade_batch


grade_batch_command = _command()
