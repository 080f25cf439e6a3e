"""Grading a chunk of students: the one function every executor runs (a local worker process
for one student, a Slurm array task for ``students_per_task``), and the report files it leaves.

For each student, :func:`grade_chunk` grades the batch's exercises one by one through
:func:`grader.engine.grade` (the same path as ``dlgrade check``) and keeps a *partial* record on
disk after every exercise (``<reports>/.partial/<student>.json``: the exercises done, the one
running, where). When the student is finished its report, ``<reports>/<student>.json`` (the
contract's JSON plus ``student``, ``fingerprint``, ``internal_errors``, ``duration_s``, ``node``,
``gpu``, ``cpu``, ``executor``, ``job``), replaces the partial record in one rename. So grading
is resumable at the exercise: a task that is requeued, retried or re-run skips finished students
and finished exercises, and a task that dies leaves, for the front end, exactly which exercise
was running (:func:`finalize`).
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from grader.results import CheckResult, ExerciseResult, Report

PARTIAL_DIR = ".partial"


# -- results as data ---------------------------------------------------------------------------
def exercise_from_dict(d: dict) -> ExerciseResult:
    """Rebuild an :class:`ExerciseResult` from :meth:`ExerciseResult.to_dict` output."""
    res = ExerciseResult(d["id"], d["name"], d["path"], duration_s=float(d.get("duration_s", 0)))
    for c in d.get("checks", []):
        res.checks.append(CheckResult(c["name"], c["kind"], c["status"], float(c["score"]),
                                      float(c["max_score"]), float(c.get("duration_s", 0)),
                                      c.get("message", ""), int(c.get("calls", 0)),
                                      c.get("description", ""), c.get("output", "")))
    return res


def report_from_dict(data: dict) -> Report:
    """Rebuild a :class:`Report` (with its ``internal_errors``) from a student's report file."""
    return Report(seed=data["seed"], device=data["device"],
                  exercises=[exercise_from_dict(e) for e in data["exercises"]],
                  internal_errors=list(data.get("internal_errors", [])))


def failed_exercise(ex, path: str, message: str, status: str = "error") -> dict:
    """Every check of ``ex`` as ``error`` with ``message``, as :meth:`ExerciseResult.to_dict`
    data (points 0 of the check's points)."""
    res = ExerciseResult(ex.id, ex.slug, path)
    res.checks = [CheckResult(c.name, c.kind, status, 0.0, float(c.points), 0.0, message, 0,
                              c.description) for c in ex.checks]
    return res.to_dict()


def grader_failure(ex, path: str, reason: str) -> dict:
    """An exercise the grader could not finish (not the student's fault): every check ``error``
    with an internal-error message; its row becomes ``grader-error`` and is graded again."""
    return failed_exercise(ex, path, f"internal grader error: {reason} (not the student's fault; "
                           "re-run the batch)")


# -- files -------------------------------------------------------------------------------------
def report_path(reports: str | os.PathLike, name: str) -> Path:
    return Path(reports) / f"{name}.json"


def partial_path(reports: str | os.PathLike, name: str) -> Path:
    return Path(reports) / PARTIAL_DIR / f"{name}.json"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_report(spec, job) -> dict | None:
    """``job``'s report file when it belongs to this batch (same fingerprint, seed and
    exercises), else None."""
    data = _read_json(report_path(spec.reports, job.name))
    if (data is None or data.get("student") != job.name
            or data.get("fingerprint") != job.fingerprint or data.get("seed") != spec.seed
            or [e.get("id") for e in data.get("exercises", [])] != list(spec.exercise_ids)):
        return None
    return data


def read_partial(spec, job) -> dict | None:
    """``job``'s partial record when it belongs to this batch, else None."""
    data = _read_json(partial_path(spec.reports, job.name))
    if (data is None or data.get("student") != job.name
            or data.get("fingerprint") != job.fingerprint or data.get("seed") != spec.seed
            or data.get("exercise_ids") != list(spec.exercise_ids)
            or not isinstance(data.get("done"), dict)):
        return None
    return data


def write_final_report(spec, job, partial: dict) -> None:
    """Write ``job``'s report from a complete ``partial`` record, then drop the record."""
    device = partial.get("device") or (spec.device if spec.device != "auto" else "cpu")
    report = Report(seed=spec.seed, device=device,
                    exercises=[exercise_from_dict(partial["done"][i]) for i in spec.exercise_ids],
                    internal_errors=list(partial["internal"]))
    data = report.to_dict()
    data.update({"student": job.name, "fingerprint": job.fingerprint,
                 "internal_errors": report.internal_errors,
                 "duration_s": round(float(partial.get("duration_s", 0.0)), 3)})
    for key in ("node", "gpu", "cpu", "executor", "job", "attempts"):
        if key in partial:
            data[key] = partial[key]
    with critical():
        _write_json(report_path(spec.reports, job.name), data)
        try:
            os.unlink(partial_path(spec.reports, job.name))
        except OSError:
            pass


def finalize(spec, job, failures: dict, reason: str = "", internal: list | None = None) -> None:
    """Write the report of a student whose grading cannot go on (its task failed for the last
    time): exercises already done as they are, the others as ``failures[ex_id]`` (result data,
    with its internal errors) or, never started, as a grader failure.

    Args:
        failures: ``exercise id -> (result dict, [internal error lines])``.
        reason: why the never-started exercises were not graded (default: its task failed).
        internal: further internal-error lines for the report (a traceback).
    """
    partial = read_partial(spec, job) or _new_partial(spec, job)
    partial["done"].update(job.given)
    partial["internal"] += [e for e in [*job.internal, *(internal or [])]
                            if e not in partial["internal"]]
    by_id = {e.id: e for e in spec.exercises()}
    for ex_id in spec.exercise_ids:
        if ex_id in partial["done"]:
            continue
        if ex_id in failures:
            result, lines = failures[ex_id]
        else:
            why = reason or "grading stopped before this exercise started (its task failed)"
            result = grader_failure(by_id[ex_id], job.path, why)
            lines = [f"{job.name} {ex_id}: {why}"]
        partial["done"][ex_id] = result
        partial["internal"] += lines
    partial.setdefault("executor", spec.executor)
    write_final_report(spec, job, partial)


def _new_partial(spec, job) -> dict:
    return {"student": job.name, "fingerprint": job.fingerprint, "seed": spec.seed,
            "exercise_ids": list(spec.exercise_ids), "done": {}, "internal": [],
            "current": None, "duration_s": 0.0, "attempts": 0}


# -- where a task runs ----------------------------------------------------------------------
def node_info(spec) -> dict:
    """The machine grading here: ``node`` (hostname), ``gpu`` (torch.cuda.get_device_name of
    the task's first visible GPU, or "none"), ``cpu`` (model name), ``job`` (Slurm job id or
    None), so that timings in reports compare like with like."""
    info = {"node": socket.gethostname(), "gpu": "none", "cpu": _cpu_model(), "job": None,
            "executor": spec.executor}
    if os.environ.get("SLURM_ARRAY_JOB_ID"):
        info["job"] = f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID')}"
    elif os.environ.get("SLURM_JOB_ID"):
        info["job"] = os.environ["SLURM_JOB_ID"]
    if _may_have_gpu():
        try:
            import torch
            if torch.cuda.is_available():
                info["gpu"] = torch.cuda.get_device_name(0)
        except Exception:  # noqa: BLE001 - no usable torch/CUDA here: "none"
            pass
    return info


def _may_have_gpu() -> bool:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1", "NoDevFiles"):
        return False
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0") or bool(visible)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def resolved_device(spec, gpu: str) -> str:
    """The batch's device on this machine: "auto" becomes "cuda" where a GPU is visible."""
    if spec.device == "auto":
        return "cpu" if gpu == "none" else "cuda"
    return spec.device


# -- deferring a stop signal while a file is written --------------------------------------
class _Critical:
    """``with critical():`` delays a stop request (Ctrl-C in the front end, Slurm's signal in a
    task) that arrives while a report, partial record or CSV row is written until it is on
    disk. A handler calls :meth:`request`; it raises at once outside a critical section."""

    def __init__(self):
        self.depth = 0
        self.pending: BaseException | None = None

    def __call__(self):
        return self

    def __enter__(self):
        self.depth += 1
        return self

    def __exit__(self, *exc):
        self.depth -= 1
        if self.depth == 0 and self.pending is not None and exc[0] is None:
            pending, self.pending = self.pending, None
            raise pending
        return False

    def request(self, error: BaseException) -> None:
        """Raise ``error`` now, or when the current critical section ends."""
        if self.depth:
            self.pending = error
            return
        raise error


critical = _Critical()


# -- the chunk -----------------------------------------------------------------------------
def grade_chunk(spec, students, events=None) -> list[dict]:
    """Grade ``students`` one after the other and write each one's report.

    Args:
        spec: the :class:`~grader.batch.spec.BatchSpec`.
        students: :class:`~grader.batch.spec.StudentJob` items.
        events: optional ``events(kind, student, exercise_id)`` with kind ``"exercise"`` (about
            to grade it), ``"exercise_done"`` or ``"student"`` (its report is on disk).

    Returns:
        One ``{"student", "status": "graded"|"already", "node"}`` per student.

    A grader exception while grading one exercise is reported in that exercise (the engine's
    own rule); an exception around it (a file that cannot be written) reaches the caller, which
    treats the chunk as failed: nothing is lost, the partial records stay.
    """
    from grader.engine import Options, grade
    from grader.runner.process import warm_up
    exercises = {e.id: e for e in spec.exercises()}
    warm_up({e.backend for e in exercises.values()})
    Path(spec.reports, PARTIAL_DIR).mkdir(parents=True, exist_ok=True)
    info = node_info(spec)
    device = resolved_device(spec, info["gpu"])
    out = []
    for job in students:
        done = read_report(spec, job)
        if done is not None and not done.get("internal_errors"):
            out.append({"student": job.name, "status": "already", "node": info["node"]})
            if events:
                events("student", job.name, None)
            continue
        partial = read_partial(spec, job) or _new_partial(spec, job)
        partial["done"].update(job.given)
        partial["internal"] += [e for e in job.internal if e not in partial["internal"]]
        partial.update(info, device=device)
        partial["attempts"] = int(partial.get("attempts", 0)) + 1
        todo = [i for i in job.order if i not in partial["done"]]
        todo += [i for i in spec.exercise_ids if i not in partial["done"] and i not in todo]
        for ex_id in todo:
            ex = exercises[ex_id]
            partial["current"] = ex_id
            with critical():
                _write_json(partial_path(spec.reports, job.name), partial)
            if events:
                events("exercise", job.name, ex_id)
            t0 = time.monotonic()
            ex_device = spec.devices.get(ex_id, device) if ex.backend == "torch" else "cpu"
            if ex_device == "auto":
                ex_device = "cpu" if info["gpu"] == "none" else "cuda"
            if ex_device == "cuda" and info["gpu"] == "none":
                reason = (f"--device cuda but this task has no GPU (node {info['node']}): ask "
                          "Slurm for one with --gpus-per-task 1")
                result, internal = grader_failure(ex, job.path, reason), [f"{job.name} {reason}"]
            else:
                opts = Options(seed=spec.seed, device=ex_device, perf=spec.perf,
                               limits=spec.limits)
                report = grade([ex], job.path, opts)
                result = report.exercises[0].to_dict()
                internal = [f"{job.name} {e}" for e in report.internal_errors]
            partial["done"][ex_id] = result
            partial["internal"] += internal
            partial["current"] = None
            partial["duration_s"] = float(partial.get("duration_s", 0.0)) + time.monotonic() - t0
            with critical():
                _write_json(partial_path(spec.reports, job.name), partial)
            if events:
                events("exercise_done", job.name, ex_id)
        write_final_report(spec, job, partial)
        out.append({"student": job.name, "status": "graded", "node": info["node"]})
        if events:
            events("student", job.name, None)
    return out
