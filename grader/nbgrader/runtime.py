"""The helper that the test cells of a dlgrade nbgrader notebook call inside the student's kernel.

Why the test cells do not judge in the kernel: nbgrader runs them in the student's own kernel,
after the student's cells, so an earlier cell could patch ``numpy.allclose``, replace this module,
or install an IPython input transformer. The judging therefore happens elsewhere: the cell hands the
*saved notebook file* to ``dlgrade check EX --path NOTEBOOK --json -`` in a separate Python process,
which extracts the code cells into a module (:mod:`grader.notebook`) and grades it in dlgrade's
isolated student process; the kernel only reads back the JSON verdict and turns a failed check into
an ``AssertionError`` carrying dlgrade's message, which is what nbgrader shows in its feedback.
This keeps the judgement honest against everything short of a student cell that subverts the
kernel itself; ``dlgrade check --path submission.ipynb`` run by the instructor outside any kernel is
the tamper-proof grade (docs/instructors.md).

How the cell gets the student's code: it reads the notebook file next to the kernel (the kernel's
working directory is the notebook's folder in Jupyter, in ``nbgrader validate`` and in
``nbgrader autograde``). During ``nbgrader autograde`` that file is the sanitised copy in
``autograded/<student>/<assignment>/`` (outputs cleared, locked cells restored) that nbgrader is
executing at that moment, so what is graded is exactly what runs. The kernel's input history
(``In``/``_ih``) was not used: it holds transformed code, every re-run and the test cells, and a
student can rewrite it. Interactively the file is what the student last *saved*; the cell prints a
note when a function in the kernel differs from its saved version.

One grading run per notebook content per kernel: the verdict is cached under the notebook's
SHA-256, so N test cells cost one run; saving a change triggers a fresh run with a fresh seed.
Only the standard library is imported here (the kernel stays light), and nothing is written to
stderr: nbgrader gives 0 points to a test cell with any stderr output.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds one grading run may take before the cell gives up: under the generated config's 600 s
#: per-cell limit (the student process has its own per-call limits; this bounds the whole run).
TIMEOUT_S = 540
_CACHE: dict = {}


@dataclass
class CellResult:
    """The verdict for one test cell (one group of checks).

    Attributes:
        passed: every check of the group passed (or was skipped as not applicable).
        message: dlgrade's student-facing message(s) for the failed checks ("" when passed).
        score, max_score: points of the group as dlgrade counts them.
        seed: the seed of the grading run (to reproduce a failure).
        checks: the checks' JSON records from the report.
    """

    passed: bool
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    seed: int | None = None
    checks: list = field(default_factory=list)


def _find_notebook(notebook: str) -> Path | None:
    p = Path(notebook)
    if p.is_file():
        return p.resolve()
    session = os.environ.get("JPY_SESSION_NAME", "")  # set by jupyter_server for notebook kernels
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session).resolve()
    return None


def run_dlgrade(path: Path, exercise: str, seed: int, perf: bool, device: str) -> dict:
    """``dlgrade check`` on ``path`` in a fresh Python process; the parsed JSON report.

    The process runs in an empty temporary folder (so no file next to the notebook can shadow the
    ``grader`` package) with the kernel's interpreter; its stdout carries only the JSON report and
    its stderr is captured (never forwarded: stderr would cost the cell its points).
    """
    cmd = [sys.executable, "-m", "grader.cli", "check", exercise, "--path", str(path),
           "--json", "-", "--seed", str(seed), "--device", device]
    if not perf:
        cmd.append("--no-perf")
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    with tempfile.TemporaryDirectory(prefix="dlgrade-cell-") as cwd:
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return {"_error": f"grading took longer than {TIMEOUT_S} s and was stopped; make sure "
                              "your cells do not run long computations when the notebook is "
                              "loaded"}
        except OSError as exc:
            return {"_error": f"could not start the grader ({exc.strerror}); tell your instructor"}
    if proc.returncode in (0, 1):
        try:
            return json.loads(proc.stdout)
        except ValueError:
            pass
    tail = "\n".join((proc.stderr or "").strip().splitlines()[-6:])
    return {"_error": f"dlgrade could not grade this notebook (exit status {proc.returncode}); "
                      f"this is not a verdict on your code, tell your instructor.\n{tail}"}


def _kernel_namespace() -> dict:
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:  # pragma: no cover - always present in a Jupyter kernel
        shell = None
    if shell is not None:
        return shell.user_ns
    main = sys.modules.get("__main__")
    return vars(main) if main is not None else {}


def _norm(code: str) -> str:
    import textwrap
    return "\n".join(ln.rstrip() for ln in textwrap.dedent(code).strip().splitlines())


def unsaved_functions(path: Path, namespace: dict | None = None) -> list[str]:
    """Names of functions whose definition in this kernel differs from the saved notebook.

    Only functions defined in notebook cells (not imported ones) and defined at the top level of a
    saved code cell are compared. Returns ``[]`` when nothing can be compared.
    """
    import ast
    import inspect

    from grader.notebook import NotebookError, is_test_cell, read_cells, strip_ipython

    ns = _kernel_namespace() if namespace is None else namespace
    try:
        cells = read_cells(path)
    except NotebookError:
        return []
    saved: dict[str, str] = {}
    for cell in cells:
        if cell["cell_type"] != "code" or is_test_cell(cell):
            continue
        code = strip_ipython(cell["source"])
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                seg = ast.get_source_segment(code, node)
                if seg is not None:
                    saved[node.name] = seg
    stale = []
    for name, seg in saved.items():
        fn = ns.get(name)
        code = getattr(fn, "__code__", None)
        if code is None or getattr(fn, "__module__", "__main__") != "__main__":
            continue
        try:
            live = inspect.getsource(fn)
        except (OSError, TypeError):
            continue
        live_lines = _norm(live).splitlines()
        # getsource includes decorators; compare from the ``def`` line.
        start = next((i for i, ln in enumerate(live_lines)
                      if ln.lstrip().startswith(("def ", "async def "))), 0)
        if "\n".join(live_lines[start:]) != _norm(seg):
            stale.append(name)
    return stale


def grade(notebook: str, exercise: str, *, seed: int | None = None, perf: bool = False,
          device: str = "cpu") -> dict:
    """The dlgrade JSON report for the saved ``notebook``, graded once per content and options.

    Args:
        notebook: the notebook's file name (relative to the kernel's working directory).
        exercise: the exercise id, e.g. ``"ex04"``.
        seed: fixed seed of the random inputs; None draws a fresh one per grading run.
        perf: also run the performance checks. device: "cpu", "cuda" or "auto".

    Returns:
        The report of contract section 4, or ``{"_error": message}`` when the notebook cannot be
        found or the grader could not run; ``"_path"`` holds the notebook's resolved path.
    """
    path = _find_notebook(notebook)
    if path is None:
        return {"_error": f"cannot find the notebook file {notebook!r} in {os.getcwd()}: the "
                          "checks grade the saved notebook, so keep its name (do not rename it)"}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    key = (str(path), digest, exercise, seed, perf, device)
    if key not in _CACHE:
        run_seed = secrets.randbelow(2**31) if seed is None else int(seed)
        t0 = time.perf_counter()
        report = run_dlgrade(path, exercise, run_seed, perf, device)
        report.setdefault("seed", run_seed)
        report["_path"] = str(path)
        report["_seconds"] = time.perf_counter() - t0
        _CACHE.clear()  # one notebook per kernel: keep only the latest verdict
        _CACHE[key] = report
    return _CACHE[key]


def verdict(report: dict, exercise: str, checks, notebook: str) -> CellResult:
    """The :class:`CellResult` of ``checks`` (one name or a sequence) in a dlgrade JSON ``report``.

    Args:
        report: as returned by :func:`grade` (may be ``{"_error": ...}``).
        exercise: the exercise id. notebook: the notebook's file name, for the reproduce line.

    Returns:
        passed when every named check passed or was skipped; otherwise the failed checks' messages
        (prefixed by the check's name when the group has several) and a reproduce line.
    """
    names = [checks] if isinstance(checks, str) else list(checks)
    if "_error" in report:
        return CellResult(False, report["_error"], seed=report.get("seed"))
    run_seed = report.get("seed")
    ex = next((e for e in report.get("exercises", []) if e.get("id") == exercise), None)
    found = {c["name"]: c for c in (ex or {}).get("checks", [])}
    missing = [n for n in names if n not in found]
    if ex is None or missing:
        return CellResult(False, f"this notebook was built for checks {missing or names} of "
                                 f"{exercise}, which the installed dlgrade does not have; tell "
                                 "your instructor (rebuild with `dlgrade nbgrader build`)",
                          seed=run_seed)
    records = [found[n] for n in names]
    failed = [c for c in records if c["status"] in ("fail", "error")]
    parts = []
    for c in failed:
        text = c.get("message", "").split("\n  reproduce: ")[0].rstrip()
        parts.append(text if len(names) == 1 else f"[{c['name']}] {text}")
    message = ""
    if parts:
        message = "\n".join(parts) + ("\n  (reproduce outside Jupyter: "
                                      f"{_reproduce(ex, exercise, notebook, run_seed)})")
    return CellResult(not failed, message, float(sum(c["score"] for c in records)),
                      float(sum(c["max_score"] for c in records)), run_seed, records)


def _reproduce(ex: dict, exercise: str, notebook: str, seed) -> str:
    """The command that grades this notebook again as the kernel did: its name as the student
    knows it, the seed, and the run's other options (``--no-perf``, ``--device``) from the
    report's own reproduce command."""
    import shlex
    words = shlex.split(str(ex.get("reproduce") or ""))[2:]
    extra, k = [], 0
    while k < len(words):
        if words[k] in ("--path", "--seed"):
            k += 2
            continue
        if words[k].startswith("--"):
            extra.append(words[k])
        elif extra and extra[-1] == "--device":
            extra.append(words[k])
        k += 1
    return shlex.join(["dlgrade", "check", exercise, "--path", notebook, "--seed", str(seed), *extra])


def status_line(result: CellResult, exercise: str, checks) -> str:
    """The one line a test cell prints: the checks, pass/FAIL/ERROR, points and seed."""
    label = checks if isinstance(checks, str) else ", ".join(checks)
    if not result.passed:
        bad = next((c for c in result.checks if c["status"] in ("fail", "error")), None)
        word = "ERROR" if bad is not None and bad["status"] == "error" else "FAIL"
        return f"dlgrade {exercise} {label}: {word} (seed {result.seed})"
    skipped = [c for c in result.checks if c["status"] == "skip"]
    note = f"; skipped here: {skipped[0].get('message', '')}" if skipped else ""
    return (f"dlgrade {exercise} {label}: passed ({result.score:g}/{result.max_score:g} points, "
            f"seed {result.seed}){note}")


#: Set (to "1") by :class:`grader.nbgrader.preprocessor.DlgradeVerdicts` when nbgrader autograde
#: runs it: the verdicts are then recorded outside the kernel, and the test cells need not grade.
OUTSIDE_ENV = "DLGRADE_VERDICTS_OUTSIDE_KERNEL"


def dlgrade_check(notebook: str, exercise: str, checks, *, seed: int | None = None,
                  perf: bool = False, device: str = "cpu") -> CellResult:
    """The verdict of dlgrade's ``checks`` of ``exercise`` on the saved ``notebook``.

    Called by the generated test cells, which raise ``AssertionError(result.message)`` when
    ``result.passed`` is false. Prints one line per call to stdout (never to stderr). During
    ``nbgrader autograde`` with dlgrade's ``DlgradeVerdicts`` step configured, it does not grade
    (that step records the verdict from outside the kernel and replaces this cell's output).

    Args:
        notebook: the notebook's file name as built (``ex04_dropout.ipynb``).
        exercise: the exercise id. checks: one check name or a sequence of names (a group).
        seed, perf, device: see :func:`grade`.

    Returns:
        A :class:`CellResult`.
    """
    if os.environ.get("NBGRADER_EXECUTION") == "autograde" and os.environ.get(OUTSIDE_ENV) == "1":
        print("dlgrade: judged outside the kernel by nbgrader's DlgradeVerdicts step")
        return CellResult(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = grade(notebook, exercise, seed=seed, perf=perf, device=device)
        name = Path(report.get("_path", notebook)).name
        result = verdict(report, exercise, checks, name)
        print(status_line(result, exercise, checks) if "_error" not in report
              else f"dlgrade {exercise}: could not grade (see below)")
        if "_path" in report and not os.environ.get("NBGRADER_EXECUTION"):
            stale = unsaved_functions(Path(report["_path"]))
            if stale:
                print(f"note: {', '.join(stale)} in this kernel differ(s) from the saved notebook; "
                      "the checks grade the SAVED file: save (Ctrl-S) and run this cell again")
        return result
