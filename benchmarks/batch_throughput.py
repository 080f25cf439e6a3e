"""Batch grading throughput: students per minute for the full exercise pack.

Builds a class of ``--students`` folders, each a copy of ``solutions/`` for every registered
exercise that has a solution (the "full pack"; a correct submission runs every check to the end,
the most work a student can cost without hitting a limit), grades it with
:func:`grader.batch.run_batch` exactly as ``dlgrade grade-batch -j JOBS`` does, and reports the
wall-clock rate. ``--mixed`` makes every other student a skeleton (exercises/), which fails fast.
``--executor slurm`` grades the same class as a Slurm job array (``--jobs`` tasks at once,
``--students-per-task`` each); without ``SLURM_CONF`` it starts the tests' single-node cluster on
localhost for the run (root, slurm-wlm and munge needed; see autotests/slurm_cluster.py).

    .venv/bin/python benchmarks/batch_throughput.py --students 12 --jobs 2
    .venv/bin/python benchmarks/batch_throughput.py --json out.json
    .venv/bin/python benchmarks/batch_throughput.py --executor slurm --students 24 --jobs 2

Reported: students, exercises, jobs, wall seconds, students per minute, seconds per student
(wall), CPU count, and the batch's per-exercise mean wall time from the JSON reports (the time a
worker spent on that exercise, process start included). One run is one measurement; repeat with
``--repeat`` for a spread (the median is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_class(root: Path, n: int, exercises, mixed: bool) -> None:
    """``n`` student folders under ``root``: solutions (or, with ``mixed``, every other one the
    skeletons) of ``exercises`` in ``exercises/``."""
    for i in range(n):
        folder = root / f"student{i:03d}" / "exercises"
        folder.mkdir(parents=True)
        source = "exercises" if mixed and i % 2 else "solutions"
        for ex in exercises:
            shutil.copy(ROOT / source / ex.filename, folder / ex.filename)


def run_once(n: int, jobs: int, mixed: bool, perf: bool, executor: str = "local",
             per_task: int = 4) -> dict:
    from rich.console import Console

    from grader.batch import BatchOptions, SlurmOptions, run_batch
    from grader.exercises import all_exercises
    exercises = [e for e in all_exercises() if (ROOT / "solutions" / e.filename).is_file()]
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as tmp:
        tmp = Path(tmp)
        build_class(tmp / "class", n, exercises, mixed)
        opts = BatchOptions(exercises=exercises, seed=12345, seed_given=True, jobs=jobs,
                            perf=perf, executor=executor,
                            slurm=SlurmOptions(array_parallelism=jobs, students_per_task=per_task,
                                               poll_s=1.0))
        t0 = time.perf_counter()
        summary = run_batch(tmp / "class", tmp / "grades.csv", opts,
                            console=Console(file=open(os.devnull, "w")), progress=False)
        wall = time.perf_counter() - t0
        per_ex: dict[str, list[float]] = {e.id: [] for e in exercises}
        statuses: dict[str, int] = {}
        not_passed: dict[str, int] = {}
        for report in (tmp / "grades-reports").glob("[!.]*.json"):
            data = json.loads(report.read_text())
            for ex in data["exercises"]:
                per_ex[ex["id"]].append(ex["duration_s"])
                for c in ex["checks"]:
                    if c["status"] in ("fail", "error"):
                        key = f"{ex['id']}:{c['name']}:{c['status']}"
                        not_passed[key] = not_passed.get(key, 0) + 1
        for row in summary.rows.values():
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return {"executor": executor, "students_per_task": per_task if executor == "slurm" else None,
            "students": n, "exercises": [e.id for e in exercises], "jobs": jobs,
            "mixed": mixed, "perf": perf, "wall_s": round(wall, 2),
            "students_per_min": round(n / wall * 60, 2), "s_per_student": round(wall / n, 2),
            "cpus": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
            "statuses": statuses, "checks_not_passed": not_passed,
            "mean_exercise_s": {k: round(statistics.mean(v), 3) for k, v in per_ex.items() if v}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=12)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--mixed", action="store_true", help="every other student hands in skeletons")
    p.add_argument("--no-perf", action="store_true", help="skip the performance checks")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--executor", choices=("local", "slurm"), default="local")
    p.add_argument("--students-per-task", type=int, default=4, help="(slurm) students per task")
    args = p.parse_args()
    cluster = None
    if args.executor == "slurm" and not os.environ.get("SLURM_CONF"):
        sys.path.insert(0, str(ROOT / "autotests"))
        import slurm_cluster
        cluster = slurm_cluster.start(Path(tempfile.mkdtemp(prefix="dlgrade-slurm-")))
        os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        runs = [run_once(args.students, args.jobs, args.mixed, not args.no_perf, args.executor,
                         args.students_per_task) for _ in range(args.repeat)]
    finally:
        if cluster is not None:
            slurm_cluster.stop(cluster)
    for r in runs:
        print(json.dumps(r))
    rates = [r["students_per_min"] for r in runs]
    print(f"batch throughput: {statistics.median(rates):.1f} students/min (median of {len(rates)}; "
          f"{args.students} students x {len(runs[0]['exercises'])} exercises "
          f"{','.join(runs[0]['exercises'])}, {args.executor} executor, -j {args.jobs}, "
          f"{os.cpu_count()} CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
