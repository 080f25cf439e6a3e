"""``--executor local``: grade the batch in ``-j`` grader worker processes on this machine.

Each worker is a fresh interpreter (``multiprocessing``'s *spawn* context) that starts its own
fork server and student processes, and grades one student at a time with
:func:`grader.batch.chunk.grade_chunk` (the function a Slurm array task runs too). It tells the
front end when it starts and ends each exercise, so that a wall-clock backstop bounds every
exercise: a worker that dies or overruns it is killed with all its descendants and replaced,
that exercise is reported as a grader failure (``grader-error``: graded again by the next run),
and the student's other exercises are graded by a fresh worker.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import time
import traceback
from collections import deque
from dataclasses import replace

from grader.batch.chunk import finalize, grade_chunk, grader_failure

#: Seconds a worker may take to start (imports, fork server) before it counts as failed.
STARTUP_S = 300.0


def _worker_main(conn, spec, backends) -> None:
    """A grader worker: receives :class:`StudentJob` items, grades each, reports events."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the front end handles Ctrl-C and ends us
    from grader.runner.process import warm_up
    warm_up(set(backends))
    try:
        conn.send({"ready": True})  # imports done: the front end's backstop clock starts per task
    except (OSError, ValueError):
        return

    def events(kind, student, exercise):
        conn.send({"event": kind, "student": student, "exercise": exercise})

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            grade_chunk(spec, [job], events)
            answer = {"done": job.name}
        except BaseException:  # noqa: BLE001 - a grader bug around the engine: report, go on
            answer = {"crash": traceback.format_exc(), "student": job.name}
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return


class _Worker:
    """One grader worker process, the student it grades and the exercise it is on."""

    def __init__(self, ctx, spec, backends):
        self.conn, child = ctx.Pipe(duplex=True)
        # Not a daemon: a worker starts processes of its own (fork server, student processes).
        self.proc = ctx.Process(target=_worker_main, args=(child, spec, tuple(backends)),
                                name="dlgrade-batch-worker")
        self.proc.start()
        child.close()
        self.job = None
        self.exercise: str | None = None
        self.started = 0.0
        self.ready = False
        self.born = time.monotonic()

    def assign(self, job) -> None:
        self.job, self.exercise, self.started = job, None, time.monotonic()
        self.conn.send(job)

    def kill(self) -> None:
        """SIGKILL the worker and every process below it (its fork server, student processes)."""
        import psutil
        try:
            victims = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            victims = []
        for p in victims:
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


def run_local(spec, jobs, opts, on_report, tick, status) -> None:
    """Grade ``jobs`` (:class:`StudentJob`) in ``opts.jobs`` workers.

    Args:
        spec: the :class:`BatchSpec`. opts: the :class:`BatchOptions` (jobs, backstop).
        on_report: ``on_report(name)``: the student's report is on disk.
        tick: ``tick(name)``: one more exercise of that student is done (progress).
        status: ``status(text)``: a short state line for the progress bar.

    KeyboardInterrupt (Ctrl-C, SIGTERM through the front end's handler) kills every worker
    with its process tree and propagates.
    """
    ctx = multiprocessing.get_context("spawn")
    by_id = {e.id: e for e in spec.exercises()}
    backends = sorted({e.backend for e in by_id.values()})
    queue = deque(jobs)
    backstop = opts.backstop_s()
    deaths: dict[str, int] = {}
    workers = [_Worker(ctx, spec, backends) for _ in range(max(1, min(opts.jobs, len(jobs))))] \
        if jobs else []
    startup_failures = 0
    clean = False
    try:
        while queue or any(w.job for w in workers):
            for i, w in enumerate(workers):
                if w.ready:
                    continue
                try:
                    if w.conn.poll() and w.conn.recv().get("ready"):
                        w.ready, startup_failures = True, 0
                        continue
                except (EOFError, OSError):
                    pass
                if not w.proc.is_alive() or time.monotonic() - w.born > STARTUP_S:
                    startup_failures += 1
                    if startup_failures > 5:
                        raise RuntimeError("cannot start grader worker processes (they die "
                                           "during start-up); see the messages above")
                    w.kill()
                    workers[i] = _Worker(ctx, spec, backends)
            for w in workers:
                if w.ready and w.job is None and queue:
                    w.assign(queue.popleft())
            watched = [w for w in workers if w.job is not None or not w.ready]
            multiprocessing.connection.wait([w.conn for w in watched]
                                            + [w.proc.sentinel for w in watched], timeout=0.5)
            status(f"{sum(w.job is not None for w in workers)} worker(s) busy")
            for i, w in enumerate(workers):
                if w.job is None:
                    continue
                problem = _drain(spec, w, on_report, tick)
                if problem is None and w.job is not None:
                    if not w.proc.is_alive():
                        problem = f"the grader worker died (exit code {w.proc.exitcode})"
                    elif time.monotonic() - w.started > backstop:
                        problem = f"grading this exercise took longer than {backstop:g} s"
                if problem is None:
                    continue
                # Died or overran: kill it and everything below it, start a fresh one.
                job, ex_id = w.job, w.exercise
                w.job = None
                w.kill()
                workers[i] = _Worker(ctx, spec, backends)
                if ex_id is not None:  # that exercise is lost; the student's others go on
                    given = dict(job.given)
                    given[ex_id] = grader_failure(by_id[ex_id], job.path, problem)
                    queue.appendleft(replace(job, given=given, internal=[
                        *job.internal, f"{job.name} {ex_id}: {problem}"]))
                    tick(job.name)
                    continue
                deaths[job.name] = deaths.get(job.name, 0) + 1
                if deaths[job.name] < 2:
                    queue.appendleft(job)  # died between exercises: once more
                else:
                    _give_up(spec, job, problem, on_report)
        clean = True
    finally:
        for w in workers:
            w.stop() if clean else w.kill()


def _drain(spec, w, on_report, tick) -> str | None:
    """Handle every message waiting from ``w``; a problem text when its pipe broke."""
    try:
        while w.job is not None and w.conn.poll():
            msg = w.conn.recv()
            if "event" in msg:
                w.started = time.monotonic()
                if msg["event"] == "exercise":
                    w.exercise = msg["exercise"]
                elif msg["event"] == "exercise_done":
                    w.exercise = None
                    tick(msg["student"])
                elif msg["event"] == "student":
                    on_report(msg["student"])
            elif "done" in msg:
                w.job = None
            elif "crash" in msg:
                job, w.job = w.job, None
                last = msg["crash"].strip().splitlines()[-1:] or ["?"]
                _give_up(spec, job, last[0], on_report, trace=msg["crash"])
    except (EOFError, OSError):
        return f"the grader worker died (exit code {w.proc.exitcode})"
    return None


def _give_up(spec, job, reason, on_report, trace: str = "") -> None:
    """Report ``job``'s unfinished exercises as grader failures and hand its report on."""
    finalize(spec, job, {}, reason=f"the grader failed: {reason}",
             internal=[f"{job.name}: {trace or reason}"])
    on_report(job.name)
