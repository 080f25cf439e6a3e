"""Calibrate the performance thresholds: ratios of acceptable and looped implementations.

For every exercise with a performance plan (``Exercise.plan``, in ``grader/exercises/exNN_*/plan.py``) this measures,
with the production timing code (student in its process, library reference in this one, single
thread, ABBA, warm-up, fresh inputs per call, outputs rechecked, outside-view
cross-checks), the ratio median(student) / median(reference) of

* acceptable implementations: ``solutions/<module>`` and every ``autotests/submissions/exNN/*.py``
  that declares ``# expect: full``;
* rejectable implementations: every ``autotests/submissions/exNN/looped_*.py`` (correct code with
  Python loops over the batch, the elements or the output positions);

and prints, per timed function, the worst acceptable ratio (max over implementations and
repeats), the best rejectable ratio (min), the threshold the rule gives and the one in use:

    T = sqrt(worst_ok * best_looped), clamped to [1.5 * worst_ok, best_looped / 1.5]

(no threshold exists when best_looped < 2.25 * worst_ok: the problem size must change).

Usage::

    python benchmarks/calibrate.py                 # all exercises, CPU, 5 repeats
    python benchmarks/calibrate.py ex06 --busy     # with the other core kept busy
    python benchmarks/calibrate.py --gpu           # CUDA units (skips without CUDA)
    python benchmarks/calibrate.py --markdown      # the table for docs/performance.md

On a GPU machine ``--gpu`` also prints the vendor kernels' time per call (it should be >= ~1 ms;
otherwise raise the sizes in ``CONV_GPU``/``LSTM_GPU``/``ATTN_GPU`` of the exercises' ``plan.py``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def implementations(exercise, exclude=(), hostile: bool = False) -> tuple[list[Path], list[Path]]:
    """(acceptable, rejectable) implementation files of ``exercise``.

    Rejectable: ``looped_*.py`` and any variant declaring ``# expect: performance fail``;
    acceptable: the solution and the variants declaring ``# expect: full``. Files whose name
    contains one of ``exclude`` are left out, and so are the hostile variants (those that forge
    or disturb the timing: they declare "cannot be trusted") unless ``hostile``: their ratios
    are forged, not measured.
    """
    ok = [ROOT / "solutions" / exercise.filename]
    bad = []
    folder = ROOT / "autotests" / "submissions" / exercise.id
    for path in sorted(folder.glob("*.py")):
        head = path.read_text().splitlines()[:10]
        if not hostile and any("cannot be trusted" in line for line in head if "expect:" in line):
            continue
        if path.name.startswith("looped_") or any(
                re.match(r"#\s*expect:\s*performance\s+fail\b", line) for line in head):
            bad.append(path)
        elif any(re.match(r"#\s*expect:\s*full\b", line) for line in head):
            ok.append(path)
    keep = [p for p in ok if p.is_file() and not any(x in p.name for x in exclude)]
    return keep, [p for p in bad if not any(x in p.name for x in exclude)]


def threshold(worst_ok: float, best_bad: float) -> float | None:
    """The calibration rule: :func:`grader.checks.performance.calibrated_threshold`."""
    from grader.checks.performance import calibrated_threshold
    return calibrated_threshold(worst_ok, best_bad)


class Busy:
    """Keep one core busy (a spinning child process) while measuring: the flake condition."""

    def __init__(self, on: bool):
        self.on = on
        self.proc = None

    def __enter__(self):
        if self.on:
            self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def calibrate(exercises, repeats: int, device: str, seed: int, verbose: bool,
              exclude=()) -> list[dict]:
    from grader.checks.performance import sample_ratios
    rows = []
    for ex in exercises:
        plan = ex.plan
        units = (plan.gpu_timed if device == "cuda" else plan.timed) if plan else ()
        if not units:
            continue
        ok_files, bad_files = implementations(ex, exclude)
        samples = {t.key: {"ok": {}, "bad": {}} for t in units}
        reference_ms: dict = {}
        for kind, files in (("ok", ok_files), ("bad", bad_files)):
            for f in files:
                t0 = time.perf_counter()
                got = sample_ratios(ex, f, seed=seed, repeats=repeats, device=device)
                if verbose:
                    print(f"  {ex.id} {f.name:32} {kind:3} {time.perf_counter() - t0:5.1f}s "
                          + " ".join(f"{k}={[round(r, 2) for r in v]}" for k, v in got.items()
                                     if not k.startswith("_"))
                          + (f" ERROR {got['_error']}" if "_error" in got else ""), flush=True)
                for fn, ratios in got.items():
                    if fn in samples and ratios:
                        samples[fn][kind][f.name] = ratios
                if kind == "ok":
                    for fn, ms in got.get("_reference_ms", {}).items():
                        reference_ms.setdefault(fn, []).extend(ms)
        for t in units:
            ok = [r for v in samples[t.key]["ok"].values() for r in v]
            # The looped variants this unit is sized to expose (looped_<kind>*.py).
            relevant = {f: v for f, v in samples[t.key]["bad"].items()
                        if not t.catches or any(f.startswith(f"looped_{k}") for k in t.catches)}
            samples[t.key]["bad"] = relevant
            bad = [r for v in relevant.values() for r in v]
            worst_ok = max(ok) if ok else float("nan")
            best_bad = min(bad) if bad else float("nan")
            rows.append({
                "exercise": ex.id, "function": t.key, "reference": t.ref,
                "ok_files": len(samples[t.key]["ok"]), "bad_files": len(samples[t.key]["bad"]),
                "ok_median": _median(ok), "worst_ok": worst_ok,
                "best_bad": best_bad, "bad_median": _median(bad),
                "suggested": threshold(worst_ok, best_bad) if ok and bad else None,
                "current": t.threshold, "reference_ms": _median(reference_ms.get(t.key, [])),
                "worst_ok_file": max(samples[t.key]["ok"].items(), key=lambda kv: max(kv[1]))[0]
                if ok else "", "best_bad_file": min(samples[t.key]["bad"].items(),
                                                    key=lambda kv: min(kv[1]))[0] if bad else ""})
    return rows


def _median(values):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])


def _fmt(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def print_table(rows, markdown: bool) -> None:
    from rich.markup import escape
    cols = ["exercise", "function", "reference ms", "ok (median / worst)", "looped (best / median)",
            "suggested T", "T in use", "margins (T/worst, best/T)"]
    lines = []
    for r in rows:
        t = r["current"]
        margins = (f"{t / r['worst_ok']:.1f}x / {r['best_bad'] / t:.1f}x"
                   if r["worst_ok"] == r["worst_ok"] and r["best_bad"] == r["best_bad"] else "-")
        lines.append([r["exercise"], escape(r["function"]), f"{r['reference_ms']:.3g}",
                      f"{_fmt(r['ok_median'])} / {_fmt(r['worst_ok'])} ({r['worst_ok_file']})",
                      f"{_fmt(r['best_bad'])} / {_fmt(r['bad_median'])} ({r['best_bad_file']})",
                      _fmt(r["suggested"]) if r["suggested"] is not None else "NONE",
                      f"{t:g}", margins])
    if markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for line in lines:
            print("| " + " | ".join(line) + " |")
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title="performance calibration: ratio = median(student) / median(reference)")
    for c in cols:
        table.add_column(c)
    for line in lines:
        table.add_row(*line)
    Console(width=200).print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", help="exercise ids (default: all with a plan)")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per implementation")
    parser.add_argument("--busy", action="store_true", help="keep the other core busy")
    parser.add_argument("--gpu", action="store_true", help="calibrate the CUDA units")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--exclude", action="append", default=[],
                        help="leave out variants whose file name contains this (repeatable)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the busy process ends too
    from grader.exercises import all_exercises, resolve
    exercises = [resolve(e) for e in args.exercises] if args.exercises else all_exercises()
    device = "cpu"
    if args.gpu:
        import torch
        if not torch.cuda.is_available():
            print("calibrate --gpu: no CUDA device here; the GPU thresholds stay provisional "
                  "(see docs/performance.md). Run this on a machine with a GPU.")
            return 0
        device = "cuda"
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    with Busy(args.busy):
        rows = calibrate(exercises, args.repeats, device, args.seed, not args.quiet,
                         tuple(args.exclude))
    print_table(rows, args.markdown)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["suggested"] is not None for r in rows if r["bad_files"]) else 1


if __name__ == "__main__":
    sys.exit(main())
