"""Benchmark of the grader itself: how long ``dlgrade check`` takes on the reference solutions.

Measures, as a user would see it (a new ``dlgrade`` process each time, interpreter start,
imports, student processes and reports included):

* ``dlgrade check exNN --path solutions`` for every exercise, ``--runs`` times (median, min, max);
* ``dlgrade check --all --path solutions`` the same way;

and, from the JSON report of one run, the calls made to student functions and the seconds spent
per check kind. Targets (issue 4, on a 2-core machine): median <= 1 s per numpy exercise,
<= 2.5 s per torch exercise, <= 15 s for ``--all``.

Usage::

    python benchmarks/bench_grader.py              # every exercise, 5 runs each
    python benchmarks/bench_grader.py ex01 ex06 --runs 3
    python benchmarks/bench_grader.py --markdown   # tables for docs/performance.md
    python benchmarks/bench_grader.py --no-perf    # the same without the performance checks
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = {"numpy": 1.0, "torch": 2.5, "all": 15.0}


def dlgrade_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m grader.cli``."""
    script = Path(sys.executable).parent / "dlgrade"
    return [str(script)] if script.exists() else [sys.executable, "-m", "grader.cli"]


def time_check(args: list[str], runs: int, seed: int, cwd: Path) -> tuple[list[float], dict]:
    """Wall seconds of ``runs`` runs of ``dlgrade check ARGS`` and the JSON report of the last."""
    times, report = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        for r in range(runs):
            cmd = dlgrade_command() + ["check", *args, "--path", "solutions", "--seed",
                                       str(seed + r), "--json", str(out)]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            times.append(time.perf_counter() - t0)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr}")
        report = json.loads(out.read_text())
    return times, report


def by_kind(report: dict) -> tuple[dict, dict, dict]:
    """(calls, seconds, count of checks) per check kind over the report's exercises."""
    calls, seconds, count = defaultdict(int), defaultdict(float), defaultdict(int)
    for ex in report.get("exercises", []):
        for c in ex["checks"]:
            calls[c["kind"]] += int(c.get("calls", 0))
            seconds[c["kind"]] += float(c.get("duration_s", 0.0))
            count[c["kind"]] += 1
    return calls, seconds, count


def table(headers, rows, markdown: bool, title: str = "") -> None:
    if markdown:
        if title:
            print(f"\n**{title}**\n")
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers))
        for row in rows:
            print("| " + " | ".join(str(x) for x in row) + " |")
        return
    from rich.console import Console
    from rich.table import Table
    t = Table(title=title)
    for h in headers:
        t.add_column(h)
    for row in rows:
        t.add_row(*(str(x) for x in row))
    Console(width=160).print(t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", help="exercise ids (default: all)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--no-perf", action="store_true", help="pass --no-perf to dlgrade")
    parser.add_argument("--skip-all", action="store_true", help="do not time --all")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    from grader.exercises import all_exercises, resolve
    exercises = [resolve(e) for e in args.exercises] if args.exercises else all_exercises()
    # A pip install compiles dlgrade's bytecode; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 (as on our CI machines) would recompile the grader on every run
    # (+0.1-0.2 s), which is not what a user pays. Compile once, as the installer would.
    compileall.compile_dir(str(ROOT / "grader"), quiet=1)
    extra = ["--no-perf"] if args.no_perf else []
    rows, kinds_rows, ok = [], [], True
    per_exercise_reports = {}
    for ex in exercises:
        times, report = time_check([ex.id, *extra], args.runs, args.seed, ROOT)
        per_exercise_reports[ex.id] = report
        med = statistics.median(times)
        target = TARGET_S[ex.backend]
        ok &= med <= target
        e = report["exercises"][0]
        slowest = sorted(e["checks"], key=lambda c: -c.get("duration_s", 0))[:2]
        rows.append([ex.id, ex.backend, f"{med:.2f}", f"{min(times):.2f}", f"{max(times):.2f}",
                     f"{target:g}", "yes" if med <= target else "NO",
                     f"{e.get('duration_s', 0):.2f}",
                     ", ".join(f"{c['name']} {c['duration_s']:.2f}" for c in slowest)])
    if not args.skip_all and not args.exercises:
        times, report = time_check(["--all", *extra], args.runs, args.seed, ROOT)
        med = statistics.median(times)
        ok &= med <= TARGET_S["all"]
        rows.append(["--all", "both", f"{med:.2f}", f"{min(times):.2f}", f"{max(times):.2f}",
                     f"{TARGET_S['all']:g}", "yes" if med <= TARGET_S["all"] else "NO",
                     f"{sum(e.get('duration_s', 0) for e in report['exercises']):.2f}", ""])
    else:
        report = {"exercises": [r["exercises"][0] for r in per_exercise_reports.values()]}
    table(["command", "backend", "median s", "min s", "max s", "target s", "met",
           "grading s (in report)", "slowest checks (s)"], rows, args.markdown,
          f"dlgrade check <ex> --path solutions{' --no-perf' if args.no_perf else ''}: wall "
          f"time, process start included ({args.runs} runs, {os.cpu_count()} cores)")
    calls, seconds, count = by_kind(report)
    for kind in sorted(calls, key=lambda k: -seconds[k]):
        kinds_rows.append([kind, count[kind], calls[kind], f"{seconds[kind]:.2f}"])
    table(["check kind", "checks", "calls to student functions", "seconds"], kinds_rows,
          args.markdown, "per check kind (one graded run of every exercise)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
