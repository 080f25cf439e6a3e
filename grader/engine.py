"""The grading path: exercise spec -> isolated student process -> checks -> results.

:func:`grade` is the one entry point every front end (command line, pytest plugin, notebooks,
batch grading) uses. Checks receive a :class:`Context`; they call the student's functions only
through it, so every call crosses the process boundary and comes back as validated data.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import rules
from grader.checks import static
from grader.context import Context, Forbidden, StudentRaised
from grader.files import Refused, check_helpers, folder_of, locate, read_student_file
from grader.report.text import bounded
from grader.results import CheckResult, ExerciseResult, Report
from grader.runner.process import (Limits, SandboxError, StudentCrash, StudentImportError,
                                   StudentProcess, warm_up)
from grader.spec import Check, Exercise, Fail, Skip


@dataclass
class Options:
    """How to grade.

    Attributes:
        seed: base seed of every random input (reported so a failure can be reproduced).
        device: ``"cpu"`` or ``"cuda"`` (torch exercises; ``auto`` is resolved by the caller).
        perf: run ``performance`` checks (``--no-perf`` turns them off: reported as skip).
        limits: per-exercise :class:`Limits`, or a mapping ``exercise id -> Limits``.
        devices: ``exercise id -> device`` where the course configuration gives an exercise its
            own device (resolved, "cpu"/"cuda"); others use ``device``.
    """

    seed: int
    device: str = "cpu"
    perf: bool = True
    limits: Limits | dict = field(default_factory=Limits)
    devices: dict = field(default_factory=dict)

    def device_for(self, ex_id: str) -> str:
        return self.devices.get(ex_id, self.device)

    def limits_for(self, ex_id: str) -> Limits:
        if isinstance(self.limits, dict):
            return self.limits.get(ex_id, Limits())
        return self.limits


def _student_message(fn: str, error: dict) -> str:
    etype = error.get("type", "Exception")
    if etype == "NotImplementedError":
        return (f"{fn} is not implemented yet (it raises NotImplementedError). Write your code "
                "where the TODO says.")
    if etype == "MissingFunction":
        return f"your module has no function named `{fn}` (check the spelling and indentation)"
    tb = (error.get("traceback") or "").rstrip()
    head = f"{fn} raised {etype}: {error.get('message', '')}".rstrip(": ")
    if etype == "SystemExit":
        head = f"{fn} called sys.exit() ({error.get('message', '')}); a graded function must return"
        if fn == "import":
            head = (f"sys.exit({error.get('message', '')}) was called while your module was "
                    "imported; a module must only define functions")
    if etype in _HINTS and _HINTS[etype][0] in str(error.get("message", "")):
        head += f" ({_HINTS[etype][1]})"
    return head + ("\n" + tb if tb else "")


#: Exception type -> (text its message must contain, hint appended): resource limits and the
#: sandbox, which students meet as plain Python exceptions.
_HINTS = {
    "MemoryError": ("", "your code needed more memory than dlgrade allows a student process; "
                        "look for a huge array, e.g. an outer product or a copy per element"),
    "OSError": ("File too large", "your code printed or wrote more than dlgrade's output limit; "
                                  "do not print in graded functions"),
    "PermissionError": ("", "dlgrade runs your code as an unprivileged user in an empty folder: "
                            "graded code must not read or write files or signal processes"),
}


def _result(check: Check, status: str, message: str = "", t0: float | None = None,
            calls: int = 0, output: str = "", metrics: dict | None = None) -> CheckResult:
    score = check.points if status == "pass" else 0.0
    max_score = 0.0 if status == "skip" else check.points
    return CheckResult(check.name, check.kind, status, float(score), float(max_score),
                       time.perf_counter() - t0 if t0 is not None else 0.0,
                       bounded(message), calls,
                       check.description, bounded(output),
                       dict(metrics) if metrics and status == "pass" else {})


def unrun(exercise: Exercise, opts: Options, status: str, message: str) -> list[CheckResult]:
    """Results for an exercise whose code cannot run (no file, unreadable, not importable): every
    check ``status`` with ``message``, except those that do not apply under ``opts`` (skipped as
    for any submission, so ``max_score`` does not depend on the student's file)."""
    device = opts.device_for(exercise.id)
    out = []
    for c in exercise.checks:
        reason = rules.skip_reason(c, exercise, device, opts.perf)
        out.append(_result(c, "skip", reason) if reason else _result(c, status, message))
    return out


def grade_exercise(exercise: Exercise, path: str | os.PathLike, opts: Options,
                   report_path: str | None = None, reproduce_path=None) -> ExerciseResult:
    """Grade one exercise of one submission. Never raises for anything the student did.

    Args:
        exercise: the spec. path: the student's file or repository folder. opts: :class:`Options`.
        report_path: the path to show in the report (default: the located file).
        reproduce_path: the ``--path`` of the reproduce command (default: ``path``; a notebook
            graded through a temporary file passes the notebook).

    Returns:
        The :class:`ExerciseResult` with one :class:`CheckResult` per check, in spec order.
    """
    t_start = time.perf_counter()
    file = locate(exercise, path)
    refused, data = None, b""
    try:
        data = read_student_file(file, folder_of(path, file)) if file is not None else b""
    except Refused as exc:
        refused = str(exc)
    if refused is None and file is not None and file.suffix.lower() == ".ipynb":
        from grader.notebook import grade_notebook  # code cells -> temporary .py
        return grade_notebook(exercise, file, opts, report_path,
                              reproduce_path=path if reproduce_path is None else reproduce_path)
    res = ExerciseResult(exercise.id, exercise.slug,
                         report_path or (str(file) if file else str(Path(path) / "exercises" / exercise.filename)))
    res.reproduce = rules.reproduce_command(
        [exercise.id], opts.seed, rules.reproduce_args(path if reproduce_path is None else
                                                       reproduce_path, opts))
    reproduce = f"\n  reproduce: {res.reproduce}"
    if file is None:
        msg = (f"no file {exercise.filename} found in {path} (looked in exercises/ and at the root)")
        res.checks = unrun(exercise, opts, "error", msg)
        return res
    source = data.decode("utf-8", errors="replace")
    try:
        if refused is None:
            check_helpers(source, file, folder_of(path, file))
    except Refused as exc:
        refused = str(exc)
    if refused is not None:
        res.checks = unrun(exercise, opts, "error", refused)
        return res

    findings = static.scan(source, forbidden_imports=exercise.forbidden_imports,
                           forbidden_calls=exercise.forbidden_calls,
                           allowed_calls=exercise.config.get("allowed_calls", ()),
                           filename=file.name)
    if any(f.category == static.UNSCANNABLE for f in findings):
        res.checks = unrun(exercise, opts, "error", static.message(findings))
        return res
    limits = opts.limits_for(exercise.id)
    process = StudentProcess(str(file), exercise.backend, blocked=exercise.forbidden_imports,
                             forbidden_ops=exercise.forbidden_ops, limits=limits,
                             device=opts.device_for(exercise.id))
    import_error: str | None = None
    try:
        process.start()
    except StudentImportError as exc:
        import_error = ("your module failed to import: " + _student_message("import", exc.error)
                        .replace("import raised ", "", 1))
        if exc.output:
            import_error += "\n  your output:\n" + exc.output
    except SandboxError as exc:  # no student code ran: the one line says why (fail closed)
        import_error = exc.reason
    except StudentCrash as exc:
        import_error = f"your module could not be loaded: the student process {exc.reason}"
        if exc.output:
            import_error += "\n  your output:\n" + exc.output
    if import_error and findings:
        import_error = _forbidden_message(findings, [])
    try:
        res.checks, violations, internal = run_checks(exercise, process, source, opts, findings,
                                                      import_error, reproduce)
    finally:
        process.close()
    if internal:
        res.__dict__["internal_errors"] = internal
    finish(res.checks, exercise, findings, violations)
    res.duration_s = time.perf_counter() - t_start
    return res


def run_checks(exercise: Exercise, process: StudentProcess, source: str, opts: Options,
               findings: list, import_error: str | None = None, reproduce: str = "",
               checks=None) -> tuple[list[CheckResult], list[str], list[str]]:
    """Run ``checks`` (default: all of the exercise's) on a started student ``process``.

    Args:
        exercise, opts: as for :func:`grade_exercise` (``opts.seed`` seeds the inputs).
        process: the student's :class:`StudentProcess` (restarted here when it died).
        source: the student's source; findings: its static scan.
        import_error: the message every check reports instead of running, or None.
        reproduce: appended to every failing message.
        checks: a subset of ``exercise.checks`` to run (a seed sweep runs the value checks).

    Returns:
        (results in spec order, operators the runtime guard refused, internal errors). The
        post-grading rules are :func:`finish`'s.
    """
    device = opts.device_for(exercise.id)
    results: list[CheckResult] = []
    violations: list[str] = []
    internal: list[str] = []
    crashes = rules.Crashes()
    for check in exercise.checks if checks is None else checks:
        t0 = time.perf_counter()
        skip = rules.skip_reason(check, exercise, device, opts.perf)
        if skip:
            results.append(_result(check, "skip", skip, t0))
            continue
        if check.kind == "forbidden":
            msg = _forbidden_message(findings, violations)
            results.append(_result(check, "fail" if msg else "pass", msg, t0))
            continue
        if import_error:
            results.append(_result(check, "error", import_error, t0))
            continue
        if not process.alive:
            try:
                process.start()
            except (StudentImportError, StudentCrash) as exc:
                why = f"the student process {exc.reason}" if isinstance(exc, StudentCrash) else exc
                results.append(_result(check, "error", f"could not restart your module: {why}", t0))
                continue
        ctx = Context(exercise, check, opts.seed, device, process, source, opts.perf)
        try:
            check.run(ctx)
            status, msg = "pass", ""
        except Fail as exc:
            status, msg = "fail", str(exc)
            crash = getattr(exc, "crash", None)
            if crash is not None:  # a check that also met a crash while diagnosing more
                fn, error = crash
                msg += "\n  " + crashes.text(fn, error, check.name, _student_message(fn, error))
        except Skip as exc:
            status, msg = "skip", str(exc)
        except StudentRaised as exc:
            status, msg = "error", crashes.text(exc.fn, exc.error, check.name,
                                                _student_message(exc.fn, exc.error))
            if getattr(exc, "on", ""):   # what the check was judging: first line's end
                head, _, rest = msg.partition("\n")
                msg = f"{head} (while judging {exc.on})" + ("\n" + rest if rest else "")
        except Forbidden as exc:
            status, msg = "fail", f"your code reached the forbidden operator {exc}"
        except StudentCrash as exc:
            status, msg = "error", f"the student process {exc.reason}"
            if exc.output:
                msg += "\n  your output:\n" + exc.output
        except Exception as exc:  # noqa: BLE001 - a bug in this check: fail closed, go on
            import traceback
            internal.append(f"{exercise.id}.{check.name}: {traceback.format_exc()}")
            status, msg = "error", (f"internal grader error in this check: {exc!r} (not your "
                                    "fault; please report it; the other checks are unaffected)")
        violations.extend(ctx.violations)
        if status in ("fail", "error"):
            msg += reproduce
        results.append(_result(check, status, msg, t0, ctx.calls, metrics=ctx.metrics))
    return results, violations, internal


def finish(results: list[CheckResult], exercise: Exercise, findings: list, violations: list,
           specs=None) -> None:
    """The post-grading rules, in place on ``results`` (of ``specs``, default the exercise's
    checks): points only for demonstrated work (:func:`grader.rules.demonstrated`), then a
    forbidden call fails every check that passed."""
    specs = exercise.checks if specs is None else specs
    for i, text in rules.demonstrated(results, exercise, specs):
        duration, calls = results[i].duration_s, results[i].calls
        results[i] = _result(specs[i], "fail", text, None, calls)
        results[i].duration_s = duration
    msg = _forbidden_message(findings, violations)
    if msg:
        for i, c in enumerate(results):
            if c.status == "pass":
                results[i] = _result(specs[i], "fail", msg, None, c.calls)
                results[i].duration_s = c.duration_s
            elif c.kind == "forbidden" and c.status != "fail":
                results[i].status, results[i].message = "fail", msg


def _forbidden_message(findings, violations) -> str:
    if findings:
        return static.message(findings)
    if violations:
        return (f"your code reached the forbidden operator {sorted(set(violations))[0]} at run "
                "time (through an alias or torch.ops); write it yourself with plain tensor operations")
    return ""


def preimport(modules) -> threading.Thread:
    """Import ``modules`` (dotted names) in a background thread and return it.

    The grader's oracles need torch or scipy.stats (about 1.5 s and 0.6 s to import on a 2-core
    machine); the first student process waits about as long for the fork server to import
    numpy/torch. Importing here, in parallel with that wait, takes the grader's import off the
    critical path. Python's per-module import locks make an oracle that imports the module
    meanwhile wait for this import rather than start a second one. An import error is left to
    the oracle's own import, where it is reported as an internal error. The thread is not a
    daemon, so an interpreter never shuts down in the middle of an import.
    """
    names = list(dict.fromkeys(modules))

    def work():
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - re-raised by the oracle's own import
                pass

    thread = threading.Thread(target=work, name="dlgrade-preimport")
    if names:
        thread.start()
    return thread


def grade(exercises: list[Exercise], path: str | os.PathLike, opts: Options,
          progress=None) -> Report:
    """Grade ``exercises`` of the submission at ``path``; the one entry point of every front end.

    Args:
        exercises: specs, in the order to grade and report them.
        path: a student repository folder, a folder of modules, or one file.
        opts: :class:`Options`.
        progress: optional callable ``progress(exercise, result_or_None)`` for front ends.

    Returns:
        The :class:`Report`.
    """
    warm_up({e.backend for e in exercises})
    importing = preimport(m for e in exercises for m in e.oracle_modules
                          if m not in sys.modules)
    report = Report(seed=opts.seed, device=opts.device)
    report.reproduce = rules.reproduce_command([e.id for e in exercises], opts.seed,
                                               rules.reproduce_args(path, opts))
    for ex in exercises:
        if progress:
            progress(ex, None)
        try:
            result = grade_exercise(ex, path, opts)
        except Exception as exc:  # a bug in the grader: report it, exit 2, keep going
            import traceback
            report.internal_errors.append(f"{ex.id}: {traceback.format_exc()}")
            result = ExerciseResult(ex.id, ex.slug, str(path))
            result.checks = unrun(ex, opts, "error", f"internal grader error: {exc!r} (please "
                                  "report this to your instructor)")
        report.internal_errors.extend(getattr(result, "internal_errors", []))
        report.exercises.append(result)
        if progress:
            progress(ex, result)
    # Never return with the import still running: a caller that ends its interpreter next (pytest
    # after an exercise whose file is missing) would shut down under it, the import would fail
    # half-way ("can't register atexit after shutdown"), a second thread would import torch
    # again, and the interpreter's finalisation then crashes (SIGSEGV, exit status 139).
    if importing.ident is not None:  # started (some module was not imported yet)
        importing.join()
    return report
