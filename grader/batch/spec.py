"""What a batch is: its options, the plain data every executor hands to the code that grades a
chunk of students, and the batch's one seed (kept across resumed runs)."""
from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from grader.runner.process import Limits

#: The batch's own state beside the reports (a dot name: never a student's report name).
STATE_FILE = ".batch.json"


class SlurmError(RuntimeError):
    """Slurm refused the batch (sbatch failed); ``str()`` is one line."""


@dataclass
class SlurmOptions:
    """How ``--executor slurm`` asks Slurm for resources (``[batch.slurm]`` in dlgrade.toml and
    the command line; see docs/cluster.md).

    Attributes:
        partition, account: sbatch ``--partition``/``--account`` (None: the cluster's default).
        time_min: time limit of one array task in minutes (None: 5 + half a minute per
            student-exercise of the task).
        gpus_per_task: sbatch ``--gpus-per-task`` (None: no GPU asked for).
        cpus_per_task: sbatch ``--cpus-per-task``. mem_gb: sbatch ``--mem`` in GB (None: default).
        array_parallelism: most tasks of the array running at once (``%K``; None: submitit's 256).
        students_per_task: students graded one after the other by one array task.
        setup: shell lines run before the task's Python (``module load``, ``source venv``).
        python: the command that starts Python on the nodes (default: this interpreter), e.g.
            ``apptainer exec /shared/dlgrade.sif python``.
        sbatch: further sbatch options ``{name: value}`` (qos, constraint, ...).
        cluster: submitit's cluster: ``"slurm"``, or ``"local"`` (tasks as local processes,
            submitit's LocalExecutor: for tests without a Slurm).
        poll_s: seconds between two state queries (squeue/sacct) of the front end.
    """

    partition: str | None = None
    account: str | None = None
    time_min: float | None = None
    gpus_per_task: int | None = None
    cpus_per_task: int = 1
    mem_gb: float | None = None
    array_parallelism: int | None = None
    students_per_task: int = 10
    setup: tuple[str, ...] = ()
    python: str | None = None
    sbatch: dict = field(default_factory=dict)
    cluster: str = "slurm"
    poll_s: float = 3.0

    def time_for(self, n_exercises: int) -> float:
        """The task time limit in minutes for ``n_exercises`` per student (Slurm rounds it up
        to whole minutes; submitit's local cluster takes fractions)."""
        if self.time_min is not None:
            return float(self.time_min)
        return float(5 + (self.students_per_task * n_exercises + 1) // 2)


@dataclass
class BatchOptions:
    """How to grade a batch.

    Attributes:
        exercises: the :class:`~grader.spec.Exercise` specs to grade for every student (with the
            course configuration already applied when ``course`` is given).
        seed: the seed when ``seed_given``; otherwise only a default for a new batch (a batch
            that already has a seed keeps it: see :func:`batch_seed`). None: a fresh one.
        seed_given: the seed was chosen by the user (a row graded with another seed is graded
            again, and the batch's recorded seed becomes this one).
        jobs: number of local grader worker processes (``--executor local``).
        force: grade every student, even unchanged ones.
        perf: run the performance checks. device: "cpu", "cuda" or "auto" (resolved where the
            student is graded: on a Slurm node, per task).
        limits: :class:`Limits` of every student process, or ``exercise id -> Limits``.
        task_timeout_s: local wall-clock backstop of one (student, exercise); default
            ``budget_s + 2 * call_timeout_s + 120``.
        course: the :class:`~grader.config.CourseConfig` (points, thresholds), re-applied by
            every worker and array task; None: built-in values.
        devices: ``exercise id -> device`` the course configuration sets.
        executor: ``"local"`` or ``"slurm"``. slurm: its :class:`SlurmOptions`.
    """

    exercises: list
    seed: int | None = None
    seed_given: bool = False
    jobs: int = 2
    force: bool = False
    perf: bool = True
    device: str = "cpu"
    limits: Limits | dict = field(default_factory=Limits)
    task_timeout_s: float | None = None
    course: object | None = None
    devices: dict = field(default_factory=dict)
    executor: str = "local"
    slurm: SlurmOptions = field(default_factory=SlurmOptions)

    def limits_for(self, ex_id: str) -> Limits:
        return self.limits.get(ex_id, Limits()) if isinstance(self.limits, dict) else self.limits

    def backstop_s(self) -> float:
        """The local executor's wall-clock backstop of one exercise, in seconds."""
        if self.task_timeout_s is not None:
            return float(self.task_timeout_s)
        worst = max((self.limits_for(e.id) for e in self.exercises),
                    key=lambda lim: lim.budget_s + 2 * lim.call_timeout_s, default=Limits())
        return worst.budget_s + 2 * worst.call_timeout_s + 120.0


@dataclass
class BatchSummary:
    """What a batch did. ``rows``: the final CSV rows by student; ``graded``: students graded
    by this run; ``adopted``: students whose complete report an interrupted run had left (rows
    written without grading again); ``skipped``: unchanged rows kept."""

    rows: dict[str, dict]
    graded: list[str]
    skipped: list[str]
    adopted: list[str] = field(default_factory=list)
    interrupted: bool = False
    duration_s: float = 0.0
    seed: int | None = None

    @property
    def grader_errors(self) -> list[str]:
        return [s for s, r in self.rows.items() if r.get("status") == "grader-error"]


@dataclass(frozen=True)
class BatchSpec:
    """What every worker or array task needs to grade students (plain, picklable data).

    Attributes:
        exercise_ids: the batch's exercises, in report order.
        seed, device, perf, limits, devices, course: as in :class:`BatchOptions`.
        reports: absolute path of the reports folder (on the shared filesystem for Slurm).
        executor: "local" or "slurm" (recorded in each report).
    """

    exercise_ids: tuple[str, ...]
    seed: int
    device: str
    perf: bool
    limits: object
    devices: dict
    course: object | None
    reports: str
    executor: str = "local"

    def exercises(self) -> list:
        """The exercise specs, with the course configuration applied."""
        from grader.exercises import resolve
        exercises = [resolve(i) for i in self.exercise_ids]
        if self.course is not None:
            from grader.config import apply
            exercises = apply(self.course, exercises)
        return exercises


@dataclass
class StudentJob:
    """One student to grade.

    Attributes:
        name: the folder's name. path: its absolute path. fingerprint: see
            :func:`grader.batch.rows.fingerprint`.
        order: the exercise ids still to grade, in this order (a retry puts the exercise that
            was running when the last attempt died at the end).
        given: ``exercise id -> ExerciseResult.to_dict()`` the front end decided (an exercise
            whose worker died); internal: the internal errors that go with them.
        attempt: 1 for the first try.
    """

    name: str
    path: str
    fingerprint: str
    order: tuple[str, ...]
    given: dict = field(default_factory=dict)
    internal: list = field(default_factory=list)
    attempt: int = 1


def batch_seed(opts: BatchOptions, reports: Path, old_rows: dict) -> tuple[int, str]:
    """The seed of this run and where it comes from; records it in ``reports/.batch.json``.

    One seed per batch, also across resumed runs: a chosen ``--seed`` wins; otherwise the seed
    recorded by the batch's first run; otherwise (a CSV from before the seed was recorded) the
    seed most of its rows were graded with; otherwise ``opts.seed`` or a fresh one.
    """
    state = read_state(reports)
    if opts.seed_given and opts.seed is not None:
        seed, source = int(opts.seed), "chosen"
    elif isinstance(state.get("seed"), int):
        seed, source = state["seed"], "kept from this batch's first run"
    else:
        seeds = Counter(r.get("seed") for r in old_rows.values()
                        if str(r.get("seed", "")).isdigit())
        if seeds:
            seed, source = int(seeds.most_common(1)[0][0]), "kept from the rows in the CSV"
        elif opts.seed is not None:
            seed, source = int(opts.seed), "new"
        else:
            seed, source = secrets.randbelow(2**31), "new"
    if state.get("seed") != seed:
        state.update({"seed": seed, "created": _now()})
        write_state(reports, state)
    return seed, source


def read_state(reports: Path) -> dict:
    """The batch's state file (empty when absent or unreadable)."""
    try:
        data = json.loads((reports / STATE_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_state(reports: Path, state: dict) -> None:
    """Replace the batch's state file atomically."""
    tmp = reports / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, reports / STATE_FILE)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
