"""``--executor slurm``: grade the batch as a Slurm job array, submitted through submitit.

The students to grade are cut into chunks of ``students_per_task``; submitit pickles
``ChunkTask()(spec, chunk)`` per chunk and submits them as one job array (its sbatch file carries
the partition, account, time limit, ``--gpus-per-task``, ``%array_parallelism`` and the setup
lines). Each array task runs :func:`grader.batch.chunk.grade_chunk`, which writes every student's
report into the reports folder on the shared filesystem. This front end (on the login node)
turns each report into a CSV row as it appears, follows the tasks' states (``sacct``, or
``squeue`` where accounting is off) for the progress bar, and handles a task that ends with
students missing:

* first time: the missing students are submitted again, one per task, each resuming from its
  partial record, with the exercise that was running when the task died graded last;
* second time: each missing student gets their report anyway: finished exercises as graded, the
  exercise that was running as ``error`` when the task hit its time limit (the submission hangs)
  or as a grader failure otherwise (``grader-error``: the next run grades it again).

A task that Slurm requeues itself (``PreemptMode=REQUEUE``) runs the same chunk again and skips
what is finished. Ctrl-C cancels every task of the batch (``scancel`` through submitit's job
objects).
"""
from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import submitit
from submitit.core.utils import pickle_load

from grader.batch.chunk import (critical, failed_exercise, finalize, grade_chunk, grader_failure,
                                read_partial, read_report)
from grader.batch.spec import SlurmError, read_state, write_state

#: Slurm states of a task that may still run (anything else has ended).
ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING",
          "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD", "UNKNOWN"}
#: Seconds to wait, after a task ended, for its last reports to show on a shared filesystem.
REPORT_GRACE_S = 3.0


class _Stopped(BaseException):
    """Raised inside a task (never caught by the engine's ``except Exception``) when Slurm ends
    it (time limit, preemption, scancel), so that nothing more is recorded."""


class ChunkTask:
    """What one array task runs: ``ChunkTask()(spec, students)``, i.e. :func:`grade_chunk`.

    Slurm ends a task with SIGTERM to every process of it, the student processes included,
    which die of it. So that no exercise is recorded with a verdict made of that death, SIGTERM
    stops the task at once (between two file writes): the exercise that was running stays
    unfinished in its partial record, and the task exits without a result.
    """

    def __call__(self, spec, students) -> list[dict]:
        def stop(signum, frame):
            critical.request(_Stopped(signum))

        signal.signal(signal.SIGTERM, stop)
        try:
            return grade_chunk(spec, students)
        except _Stopped as exc:
            print("dlgrade: stopped by Slurm (time limit, preemption or scancel); the finished "
                  "students and exercises are on disk", file=sys.stderr, flush=True)
            raise SystemExit(128 + int(exc.args[0])) from None


@dataclass
class _Task:
    job: object
    students: list
    attempt: int
    ended: float | None = None
    state: str = "PENDING"
    submitted: float = 0.0


def _executor(spec, opts):
    so = opts.slurm
    time_min = so.time_for(len(spec.exercise_ids))
    folder = Path(spec.reports) / ".slurm" / "%j"
    kwargs = {"slurm_max_num_timeout": 0}
    if so.python:
        kwargs["slurm_python"] = so.python
    ex = submitit.AutoExecutor(folder=folder, cluster=so.cluster, **kwargs)
    # submitit asks Slurm for a warning signal (USR2) before the time limit, for its own
    # checkpoint-and-requeue; Slurm sends it to every process of the task, up to a minute
    # early, and a student process dies of it. dlgrade needs no warning (its state is on disk
    # after every exercise), so the warning goes to the batch shell as a harmless SIGCONT.
    sbatch = {"signal": "B:CONT@1", **so.sbatch}
    params = {"name": "dlgrade", "nodes": 1, "tasks_per_node": 1,
              "cpus_per_task": so.cpus_per_task, "slurm_time": max(1, math.ceil(time_min)),
              "local_timeout_min": time_min,
              "slurm_partition": so.partition, "slurm_account": so.account,
              "slurm_gpus_per_task": so.gpus_per_task or None,
              "slurm_array_parallelism": so.array_parallelism,
              "slurm_setup": list(so.setup) or None, "local_setup": list(so.setup) or None,
              "slurm_additional_parameters": sbatch,
              "mem_gb": so.mem_gb}
    ex.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return ex, ChunkTask(), time_min


def _submit(ex, task, spec, chunks, attempt: int) -> list[_Task]:
    try:
        jobs = ex.map_array(task, [spec] * len(chunks), chunks)
    except Exception as exc:  # noqa: BLE001 - sbatch's own words, one line
        text = " ".join(str(exc).split())
        raise SlurmError(f"Slurm refused the job array: {text[-400:]}") from None
    now = time.monotonic()
    return [_Task(job, list(chunk), attempt, submitted=now) for job, chunk in zip(jobs, chunks)]


def run_slurm(spec, jobs, opts, on_report, tick, status, console) -> None:
    """Grade ``jobs`` (:class:`StudentJob`) through a Slurm job array; see the module docstring.

    Args: as :func:`grader.batch.local.run_local`, plus ``console`` for one line per submission.

    Raises:
        SlurmError: sbatch refused the array (first submission: nothing graded yet).
        KeyboardInterrupt: after cancelling every task of the batch.
    """
    so = opts.slurm
    ex, task, time_min = _executor(spec, opts)
    if so.cluster == "slurm":
        _cancel_leftovers(spec, ex.folder, console)
    m = max(1, so.students_per_task)
    chunks = [jobs[i:i + m] for i in range(0, len(jobs), m)]
    live = _submit(ex, task, spec, chunks, attempt=1)
    _remember(spec, live)
    console.print(f"dlgrade: submitted {len(live)} task(s) ({_ids(live)}), {time_min:g} min each; "
                  f"logs in {Path(spec.reports) / '.slurm'}", markup=False, soft_wrap=True)
    failures: dict[str, dict[str, str]] = {}
    reported: set[str] = set()
    poller = _StatePoller(so.cluster, time_min)
    next_poll = 0.0
    try:
        while live:
            now = time.monotonic()
            if now >= next_poll:
                poller.update(live)
                next_poll = now + so.poll_s
            for t in live:
                if t.state in ACTIVE and t.state != "RUNNING" and t.ended is None:
                    continue
                for s in t.students:
                    if s.name not in reported and read_report(spec, s) is not None:
                        reported.add(s.name)
                        on_report(s.name)
            retry = []
            for t in list(live):
                done = t.job.paths.result_pickle.exists() or t.state not in ACTIVE
                if done and t.ended is None:
                    t.ended = now
                if t.ended is None:
                    continue
                missing = [s for s in t.students if s.name not in reported]
                if missing and now - t.ended < REPORT_GRACE_S:
                    continue
                live.remove(t)
                if missing:
                    retry += _ended(spec, t, missing, failures, time_min, on_report, reported)
            if retry:
                live += _submit(ex, task, spec, [[s] for s in retry], attempt=2)
                _remember(spec, live[-len(retry):])
                console.print(f"dlgrade: {len(retry)} student(s) of failed task(s) submitted "
                              f"again, one per task ({_ids(live[-len(retry):])})",
                              markup=False, soft_wrap=True)
            counts = {}
            for t in live:
                key = "running" if t.state == "RUNNING" else "pending" if t.state in ACTIVE \
                    else "ending"
                counts[key] = counts.get(key, 0) + 1
            status("tasks: " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                                or "done"))
            time.sleep(0.5)
    except BaseException:  # Ctrl-C, or sbatch refusing a retry: no task is left running
        _cancel(live, so.cluster, ex.folder)
        console.print(f"dlgrade: cancelled the batch's {len(live)} unfinished Slurm task(s)",
                      markup=False, soft_wrap=True)
        raise


def _ended(spec, t, missing, failures, time_min, on_report, reported) -> list:
    """Handle the students a finished task did not report: the ones to submit again."""
    outcome, detail = _outcome(t)
    by_id = {e.id: e for e in spec.exercises()}
    again = []
    for s in missing:
        partial = read_partial(spec, s)
        current = partial.get("current") if partial else None
        if current:
            failures.setdefault(s.name, {})[current] = outcome
        done = set(partial["done"]) if partial else set()
        if s.attempt < 2:
            order = [i for i in spec.exercise_ids if i not in done and i != current]
            again.append(replace(s, order=tuple(order + ([current] if current else [])),
                                 attempt=s.attempt + 1))
            continue
        results = {}
        for ex_id, state in failures.get(s.name, {}).items():
            ex = by_id[ex_id]
            if state == "TIMEOUT":
                msg = (f"grading did not finish within the Slurm task's time limit ({time_min:g} "
                       f"min), in {s.attempt} attempts: the code hangs or is far too slow")
                results[ex_id] = (failed_exercise(ex, s.path, msg), [])
            else:
                why = f"the Slurm task grading it ended {state} in {s.attempt} attempts ({detail})"
                results[ex_id] = (grader_failure(ex, s.path, why), [f"{s.name} {ex_id}: {why}"])
        finalize(spec, s, results, reason=f"its Slurm task ended {outcome} ({detail})")
        reported.add(s.name)
        on_report(s.name)
    return again


def _outcome(t) -> tuple[str, str]:
    """How a task ended: a Slurm state name (TIMEOUT when it ran out of time) and a detail."""
    paths = t.job.paths
    if paths.result_pickle.exists():
        try:
            kind, value = pickle_load(paths.result_pickle)
        except Exception:  # noqa: BLE001 - an unreadable result: the task failed
            kind, value = "error", "unreadable result"
        if kind == "success":
            return "COMPLETED", "the task returned without these reports"
        return "FAILED", (str(value).strip().splitlines() or ["?"])[-1][-300:]
    state = t.state if t.state not in ACTIVE else "FAILED"
    detail = f"log {paths.stderr}"
    try:
        lines = [ln for ln in paths.stderr.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    if lines:
        detail = lines[-1][-300:] + f"; log {paths.stderr}"
    if state == "GONE":  # no longer known to squeue: its log says whether time ran out
        state = "TIMEOUT" if any("DUE TO TIME LIMIT" in ln for ln in lines) else "FAILED"
    return state, detail


def _remember(spec, tasks) -> None:
    """Record the batch's job ids in its state file (for :func:`_cancel_leftovers`)."""
    state = read_state(Path(spec.reports))
    ids = {str(t.job.job_id).split("_")[0] for t in tasks}
    state["slurm_jobs"] = sorted(set(state.get("slurm_jobs", [])) | ids)
    write_state(Path(spec.reports), state)


def _cancel_leftovers(spec, folder, console) -> None:
    """Cancel tasks of an earlier run of this batch that are still queued or running (its
    front end was killed without Ctrl-C): they would grade the same students twice. What they
    finished is already taken; what they were grading resumes from its partial record."""
    old = read_state(Path(spec.reports)).get("slurm_jobs", [])
    if not old:
        return
    states = _StatePoller("slurm", 0)._squeue(old) or {}
    active = sorted({jid.split("_")[0] for jid, st in states.items()
                     if st in ACTIVE and st != "UNKNOWN"})
    for master in active:
        try:
            submitit.SlurmJob(folder=folder, job_id=master).cancel(check=False)
        except OSError:
            pass
    if active:
        console.print(f"dlgrade: cancelled job(s) {', '.join(active)} of an earlier run of this "
                      "batch that were still queued or running", markup=False, soft_wrap=True)


def _ids(tasks) -> str:
    ids = sorted({str(t.job.job_id).split("_")[0] for t in tasks})
    return "job " + ", ".join(ids) if len(ids) < 4 else f"{len(ids)} jobs"


def _cancel(live, cluster: str, folder) -> None:
    """Cancel the batch's unfinished tasks: one scancel per job array (through a submitit
    job object of the array), or each local task."""
    if cluster != "slurm":
        for t in live:
            t.job.cancel(check=False)
        return
    for master in sorted({str(t.job.job_id).split("_")[0] for t in live}):
        try:
            submitit.SlurmJob(folder=folder, job_id=master).cancel(check=False)
        except OSError:
            pass


class _StatePoller:
    """Sets ``state`` of each task: ``sacct`` where Slurm accounting is on, else ``squeue``
    (``-t all`` lists ended tasks for MinJobAge seconds; one no longer listed is ``GONE``);
    the local cluster's jobs answer themselves."""

    def __init__(self, cluster: str, time_min: float):
        self.cluster = cluster
        self.sacct = cluster == "slurm"
        self.time_min = time_min

    def update(self, tasks) -> None:
        if self.cluster != "slurm":  # submitit's local processes: killed at the time limit
            for t in tasks:
                if str(t.job.state).upper() == "RUNNING":
                    t.state = "RUNNING"
                elif t.job.paths.result_pickle.exists():
                    t.state = "COMPLETED"
                elif time.monotonic() - t.submitted >= self.time_min * 60 - 1:
                    t.state = "TIMEOUT"
                else:
                    t.state = "FAILED"
            return
        masters = sorted({str(t.job.job_id).split("_")[0] for t in tasks})
        states = self._sacct(masters) if self.sacct else None
        if states is None:
            states = self._squeue(masters)
        if states is None:
            return  # Slurm did not answer this time: keep what we knew
        for t in tasks:
            t.state = states.get(str(t.job.job_id), "GONE")

    def _sacct(self, masters) -> dict | None:
        try:
            r = subprocess.run(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j",
                                ",".join(masters)], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            r = None
        if r is None or r.returncode != 0 or "disabled" in r.stderr + r.stdout:
            self.sacct = False  # no accounting here: squeue from now on
            return None
        return _parse(r.stdout)

    @staticmethod
    def _squeue(masters) -> dict | None:
        try:
            r = subprocess.run(["squeue", "-h", "-t", "all", "--array", "-o", "%i|%T", "-j",
                                ",".join(masters)], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if r.returncode != 0 and "Invalid job id" not in r.stderr:
            return None
        return _parse(r.stdout)


def _parse(text: str) -> dict:
    """``JobID|State`` lines (ranges such as ``12_[3-5%2]`` expanded) -> {"12_3": "PENDING"}."""
    from submitit.slurm.slurm import read_job_id
    out = {}
    for line in text.splitlines():
        if "|" not in line:
            continue
        jid, state = line.split("|", 1)
        state = (state.split() or ["UNKNOWN"])[0].upper()
        if "." in jid:
            continue
        try:
            parts = read_job_id(jid.strip())
        except Exception:  # noqa: BLE001 - an id we do not understand is skipped
            continue
        for p in parts:
            if len(p) >= 3:
                for i in range(int(p[1]), int(p[2]) + 1):
                    out[f"{p[0]}_{i}"] = state
            else:
                out["_".join(p[:2])] = state
    return out
