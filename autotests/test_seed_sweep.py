"""Verdicts do not depend on the seed (issue 12, item 2): a slow sweep over 200 seeds.

Every submission of ``autotests/submissions`` and every real implementation of ``autotests/real``
is graded on seeds 0..199 with the performance checks off (their verdict is a timing, not a
function of the seed's inputs): a correct one gets full marks on each seed; a wrong one fails on
each seed, and every ``expect`` line of its header (status and text) holds on each seed; a real
file is judged on each seed as :func:`test_real.problems` says.

The sweep keeps one student process per file across all seeds (the engine's
:func:`grader.engine.run_checks` and :func:`grader.engine.finish`, the rules of a normal grading),
runs a wrong submission's declared checks only (with the value checks they depend on), and runs
the files in one worker process per CPU core, the slowest exercises first. Measured with one worker
on the shared 2-core development machine (load average 3-6), 200 seeds, one exercise at a time:
ex01 23 files 50 s, ex02 22 files 2.0 min, ex03 17 files 8.7 min, ex04 26 files 6.6 min, ex05 16
files 4.2 min, ex06 28 files 60 min (load 2-3; a looped real convolution alone 19 min), ex07 22
files about 40 min (two sweeps side by side), ex08 27 files 21 min, ex09 31 files 25 min (load 3,
another sweep running; its earlier 16 files took 5.2 min), ex10 21 files 1.4 min, ex11 33 files 9.5
min, ex12 32 files 3.8-6.2 min, ex13 39 files 8.9 min (``DLGRADE_SWEEP_SEEDS`` sets another count,
``DLGRADE_SWEEP_EXERCISES=ex09,ex10`` a subset of exercises, ``DLGRADE_SWEEP_WORKERS`` the number
of worker processes, ``DLGRADE_SWEEP_FILES=ex06/a.py,...`` some files,
``DLGRADE_SWEEP_SEED_LIST=21,44`` some seeds). Run it with
``pytest -m slow autotests/test_seed_sweep.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SEEDS = ([int(x) for x in os.environ["DLGRADE_SWEEP_SEED_LIST"].split(",")]
         if os.environ.get("DLGRADE_SWEEP_SEED_LIST")
         else list(range(int(os.environ.get("DLGRADE_SWEEP_SEEDS", "200")))))
#: Files to sweep, as exNN/name.py (comma-separated; empty: all of ``ONLY``'s exercises).
FILES = {f for f in os.environ.get("DLGRADE_SWEEP_FILES", "").split(",") if f}
#: Exercises to sweep (comma-separated ids; empty: every exercise).
ONLY = {e for e in os.environ.get("DLGRADE_SWEEP_EXERCISES", "").split(",") if e}
#: Rough relative cost of one seed of an exercise (to start the slow files first).
COST = {"ex06": 6, "ex07": 4, "ex08": 4, "ex03": 2}


def _files() -> list[tuple[str, str]]:
    """(kind, path) of every file the sweep grades (those of ``ONLY``'s exercises if set)."""
    files = ([("submission", p) for p in sorted((HERE / "submissions").glob("ex*/*.py"))]
             + [("real", p) for p in sorted((HERE / "real").glob("ex*/*.py"))])
    return [(kind, str(p)) for kind, p in files if (not ONLY or p.parent.name in ONLY)
            and (not FILES or f"{p.parent.name}/{p.name}" in FILES)]


def _plan(kind: str, path: Path, exercise):
    """(checks to run, judge(results) -> list of problems)."""
    sys.path.insert(0, str(HERE))
    from test_real import header, problems
    from test_submissions import _expectations
    runnable = [c for c in exercise.checks if c.kind != "performance"]
    if kind == "real":
        decl = header(path)
        return runnable, lambda results: problems(exercise, results, decl)
    expected = _expectations(path)
    correct = any(name == "full" for name, _, _ in expected)
    if correct:
        return runnable, lambda results: [f"{r.name} {r.status}: {r.message[:200]}"
                                          for r in results if r.status not in ("pass", "skip")]
    kinds = {c.name: c.kind for c in exercise.checks}
    declared = {name for name, status, _ in expected if status in ("fail", "error")}
    if declared and all(kinds.get(n) == "performance" for n in declared):
        # wrong only in speed (a Python loop): with the performance checks off it is correct
        return runnable, lambda results: [f"{r.name} {r.status}: {r.message[:200]}"
                                          for r in results if r.status not in ("pass", "skip")]
    needs_evidence = any(kinds.get(n) not in ("value", "gradient", "statistic") for n in declared)
    chosen = [c for c in runnable if c.name in declared or (needs_evidence and c.kind in
                                                             ("value", "gradient", "statistic"))]
    if not declared:
        chosen = runnable

    def judge(results):
        by_name = {r.name: r for r in results}
        out = []
        for name, status, text in expected:
            r = by_name.get(name)
            if r is None:
                continue
            if r.status != status or text.lower() not in r.message.lower():
                out.append(f"expected {name} {status} {text!r}, got {r.status}: {r.message[:200]}")
        if all(r.status in ("pass", "skip") for r in results):
            out.append("a wrong submission passed every check it ran")
        return out
    return chosen, judge


def _sweep_file(kind: str, path: str, seeds: list) -> dict:
    """Grade one file on each of ``seeds`` in one student process; returns {"problems": {seed:
    [..]}, "seconds": s}."""
    import time

    from grader.checks import static
    from grader.engine import Options, finish, run_checks
    from grader.exercises import resolve
    from grader.runner.process import Limits, StudentProcess, warm_up

    p = Path(path)
    exercise = resolve(p.parent.name)
    checks, judge = _plan(kind, p, exercise)
    source = p.read_text()
    warm_up({exercise.backend})
    findings = static.scan(source, forbidden_imports=exercise.forbidden_imports,
                           forbidden_calls=exercise.forbidden_calls,
                           allowed_calls=exercise.config.get("allowed_calls", ()))
    t0 = time.perf_counter()
    out: dict = {}
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / exercise.filename
        target.write_text(source)
        # one process serves every seed: its CPU limit (RLIMIT_CPU, for the whole process)
        # is that of a grading run times the seeds, or a slow file's process is killed by
        # SIGXCPU partway through the sweep (as ex06's looped convolutions were)
        limits = Limits(call_timeout_s=120.0, budget_s=1e6,
                        cpu_seconds=Limits().cpu_seconds * max(1, len(seeds)))
        process = StudentProcess(str(target), exercise.backend, blocked=exercise.forbidden_imports,
                                 forbidden_ops=exercise.forbidden_ops, limits=limits, device="cpu")
        import_error = None
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001 - judged like an import error
            import_error = f"import failed: {exc}"
        try:
            for seed in seeds:
                opts = Options(seed=seed, perf=False, limits=limits)
                results, violations, internal = run_checks(exercise, process, source, opts,
                                                           findings, import_error, checks=checks)
                finish(results, exercise, findings, violations, specs=checks)
                found = judge(results) + [f"internal grader error: {e[:300]}" for e in internal]
                if found:
                    out[seed] = found
                failed = [r for r in results if r.status in ("fail", "error")]
                if kind == "submission" and failed and all("forbid" in r.message.lower()
                                                           for r in failed):
                    # Failed only as forbidden (the static scan, or the runtime guard refusing
                    # an operator its code calls): the inputs play no part, so every seed
                    # gives this verdict.
                    break
        finally:
            process.close()
    return {"problems": out, "seconds": time.perf_counter() - t0}


def _worker(items: list, seeds: list) -> None:
    results = {}
    for kind, path in items:
        results[path] = _sweep_file(kind, path, seeds)
    sys.stdout.write(json.dumps(results))


@pytest.mark.slow
def test_every_verdict_holds_on_every_seed(tmp_path):
    files = sorted(_files(), key=lambda f: -COST.get(Path(f[1]).parent.name, 1))
    assert files, f"no file to sweep for DLGRADE_SWEEP_EXERCISES={sorted(ONLY)}"
    workers = int(os.environ.get("DLGRADE_SWEEP_WORKERS", "0")) or max(1, os.cpu_count() or 1)
    shards = [files[k::workers] for k in range(workers)]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, __file__, json.dumps(shard), json.dumps(SEEDS)],
                              stdout=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path))
             for shard in shards if shard]
    merged = {}
    for proc in procs:
        stdout, _ = proc.communicate()
        assert proc.returncode == 0, "a sweep worker crashed"
        merged.update(json.loads(stdout))
    assert len(merged) == len(files)
    failures = []
    for path, res in sorted(merged.items()):
        for seed, found in sorted(res["problems"].items(), key=lambda kv: int(kv[0])):
            failures.append(f"{Path(path).parent.name}/{Path(path).name} seed {seed}: " + "; ".join(found))
    slowest = sorted(merged.items(), key=lambda kv: -kv[1]["seconds"])[:8]
    per_ex: dict = {}
    for p, r in merged.items():
        per_ex[Path(p).parent.name] = per_ex.get(Path(p).parent.name, 0.0) + r["seconds"]
    print(f"\n{len(files)} files x {len(SEEDS)} seeds on {workers} workers; worker seconds per "
          "exercise: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(per_ex.items()))
          + "; slowest files: " + ", ".join(f"{Path(p).parent.name}/{Path(p).name} "
                                            f"{r['seconds']:.0f} s" for p, r in slowest))
    assert not failures, f"{len(failures)} (file, seed) pairs judged otherwise:\n" + \
        "\n".join(failures[:60])


if __name__ == "__main__":
    _worker(json.loads(sys.argv[1]), json.loads(sys.argv[2]))
