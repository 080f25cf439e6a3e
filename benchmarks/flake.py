"""Flake test of the performance checks: no false failures, no looped code let through.

Runs the ``performance`` and ``op_count`` checks (the real check functions, in a fresh student
process each time, a different seed each time) of

* every acceptable implementation: ``solutions/<module>`` and each
  ``autotests/submissions/exNN/*.py`` declaring ``# expect: full`` -> must pass every time;
* every looped implementation: ``autotests/submissions/exNN/looped_*.py`` and variants declaring
  ``# expect: performance fail`` -> must fail every time: the checks its header declares as
  failing (``# expect: performance fail ...``, ``# expect: op_count fail ...``), or both when it
  declares neither (a loop run in another process leaves no line events here to count, so the
  hostile ``looped_offloaded.py`` declares only the timing failure);

``--repeats`` times (default 30) while another process keeps one core busy (``--no-busy`` to
measure an idle machine), and prints the counts. Exit status 0 only with zero false failures and
zero looped passes.

Usage::

    python benchmarks/flake.py                  # everything, 30 runs each, one core busy
    python benchmarks/flake.py ex06 --repeats 5 # one exercise
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CHECKS = ("performance", "op_count")


def run_once(exercise, path: Path, seed: int) -> dict:
    """Run the performance checks of ``exercise`` on ``path`` once: ``{check: (status, msg)}``.

    The checks run directly (not through grade_exercise), so the engine's rule that speed counts
    only for correct code does not hide a timing verdict here.
    """
    from grader.engine import Context, Forbidden, StudentRaised
    from grader.runner.process import StudentCrash, StudentProcess
    from grader.spec import Fail, Skip
    process = StudentProcess(str(path), exercise.backend, blocked=exercise.forbidden_imports,
                             forbidden_ops=exercise.forbidden_ops)
    out = {}
    try:
        process.start()
        source = path.read_text()
        for check in exercise.checks:
            if check.name not in CHECKS:
                continue
            ctx = Context(exercise, check, seed, "cpu", process, source, True)
            try:
                check.run(ctx)
                out[check.name] = ("pass", "")
            except Fail as exc:
                out[check.name] = ("fail", str(exc))
            except Skip as exc:
                out[check.name] = ("skip", str(exc))
            except (StudentRaised, Forbidden, StudentCrash) as exc:
                out[check.name] = ("error", f"{type(exc).__name__}: {exc}")
    finally:
        process.close()
    return out


def declared_failures(path: Path) -> set:
    """The performance checks a variant's header declares as failing."""
    out = set()
    for line in path.read_text().splitlines()[:12]:
        for c in CHECKS:
            if line.replace(" ", "").startswith(f"#expect:{c}fail"):
                out.add(c)
    return out


def main() -> int:
    import signal
    from calibrate import Busy, implementations
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the busy process ends too
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-busy", action="store_true", help="do not keep a core busy")
    parser.add_argument("--seed", type=int, default=7000)
    parser.add_argument("--exclude", action="append", default=[],
                        help="leave out variants whose file name contains this (repeatable)")
    parser.add_argument("--looped", action="append", default=[],
                        help="count variants whose file name contains this as looped, whatever "
                             "their header declares (repeatable)")
    args = parser.parse_args()
    from grader.exercises import all_exercises, resolve
    exercises = [resolve(e) for e in args.exercises] if args.exercises else all_exercises()
    rows, problems = [], []
    t_start = time.perf_counter()
    with Busy(not args.no_busy):
        for ex in exercises:
            if not any(c.name in CHECKS for c in ex.checks):
                continue
            ok_files, bad_files = implementations(ex, tuple(args.exclude), hostile=True)
            moved = [f for f in ok_files if any(x in f.name for x in args.looped)]
            ok_files = [f for f in ok_files if f not in moved]
            bad_files = bad_files + moved
            for kind, files in (("acceptable", ok_files), ("looped", bad_files)):
                for f in files:
                    counts = {c: Counter() for c in CHECKS}
                    wrong_runs = 0
                    required = declared_failures(f) or set(CHECKS)
                    t0 = time.perf_counter()
                    for r in range(args.repeats):
                        got = run_once(ex, f, args.seed + 1000 * r)
                        wrong_run = False
                        for c in CHECKS:
                            status, msg = got.get(c, ("missing", ""))
                            counts[c][status] += 1
                            wrong = status != "pass" if kind == "acceptable" else \
                                (c in required and status == "pass")
                            if wrong:
                                wrong_run = True
                                problems.append(f"{ex.id} {f.name} run {r}: {c} {status} "
                                                f"{msg.splitlines()[0][:240] if msg else ''}")
                        wrong_runs += wrong_run
                    rows.append((ex.id, f.name, kind, args.repeats, wrong_runs))
                    print(f"{ex.id} {f.name:34} {kind:10} " + "  ".join(
                        f"{c}: {dict(counts[c])}" for c in CHECKS)
                        + f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    total = time.perf_counter() - t_start
    ok_rows = [r for r in rows if r[2] == "acceptable"]
    bad_rows = [r for r in rows if r[2] == "looped"]
    print(f"\nacceptable: {len(ok_rows)} files x {args.repeats} runs = "
          f"{sum(r[3] for r in ok_rows)} runs; runs where a check did not pass (false failures): "
          f"{sum(r[4] for r in ok_rows)}")
    print(f"looped:     {len(bad_rows)} files x {args.repeats} runs = "
          f"{sum(r[3] for r in bad_rows)} runs; runs where a check passed (missed loops): "
          f"{sum(r[4] for r in bad_rows)}")
    print(f"busy core: {'no' if args.no_busy else 'yes'}; {total:.0f} s")
    for p in problems[:40]:
        print("  " + p)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
