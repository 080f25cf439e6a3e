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
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader import rules
from grader.checks import static
from grader.results import CheckResult, ExerciseResult, Report
from grader.runner.process import Limits, StudentCrash, StudentImportError, StudentProcess, warm_up
from grader.spec import Check, Exercise, Fail, Skip


class StudentRaised(Exception):
    """The student's function raised. ``error`` holds type, message and trimmed traceback."""

    def __init__(self, fn: str, error: dict):
        super().__init__(error.get("message", ""))
        self.fn = fn
        self.error = error


class Forbidden(Exception):
    """The student's code reached a forbidden operator at run time."""


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


class Context:
    """What a check sees: seeded randomness, the device, and calls into the student's code.

    Attributes:
        exercise: the :class:`Exercise`. seed: the run's seed. device: "cpu"/"cuda".
        rng: ``np.random.Generator`` seeded from (seed, exercise, check name): each check's
            inputs are reproducible on their own.
        source: the student's source text (for static checks).
        calls: number of calls made to student functions by this check.
        metrics: what the check measured, by unit (kept in the result when it passes; the
            performance checks record ``{"ratio", "ms"}`` per timed function).
    """

    def __init__(self, exercise: Exercise, check: Check, seed: int, device: str,
                 process: StudentProcess, source: str, perf: bool = True):
        self.exercise = exercise
        self.check = check
        self.seed = seed
        self.device = device
        self.perf = perf
        self.process = process
        self.source = source
        self.calls = 0
        self.metrics: dict = {}
        self.violations: list[str] = []
        self.warnings: list[str] = []
        self.global_rng_changed: list[list[str]] = []
        self.rng = np.random.default_rng([seed, exercise.number, zlib.crc32(check.name.encode())])

    @property
    def tensor_device(self) -> str | None:
        """Device type outputs must be on (``None`` for numpy exercises)."""
        return self.device if self.exercise.backend == "torch" else None

    def map(self, fn: str, argsets: list, *, inputs: bool = False,
            global_rng_seed: int | None = None, keep: tuple[int, ...] = ()) -> list:
        """Call ``fn`` once per ``(args, kwargs)`` in ``argsets``, in one round trip.

        Args:
            fn: the student's function name.
            argsets: list of ``(args_tuple, kwargs_dict)``; arrays are float64 numpy arrays
                (converted to torch tensors on the device in torch exercises).
            inputs: also return the arguments as they were after each call (to detect in-place
                changes): each item is then ``(value, (args_after, kwargs_after))``.
            global_rng_seed: seed the student process's global generators (``np.random``,
                ``random``) with this before each call and record, per call, in
                :attr:`global_rng_changed` which of them the call used (a list of names).
            keep: positions in the returned tuple to leave in the student process and return as
                opaque :class:`~grader.runner.codec.Handle` s (e.g. ``(1,)`` for the ``cache`` of
                ``(out, cache)``); pass the handle back as an argument to a later call.

        Returns:
            The decoded return values (numpy arrays, :class:`~grader.runner.codec.Tensor`,
            handles, tuples, numbers).

        Raises:
            StudentRaised: the function raised (with the student's traceback).
            Forbidden: a forbidden operator was reached.
            StudentCrash: the process died or hung.
        """
        calls = [{"fn": fn, "args": list(a), "kwargs": dict(k), "inputs": inputs} for a, k in argsets]
        if global_rng_seed is not None:
            for c in calls:
                c["global_rng_seed"] = int(global_rng_seed)
        if keep:
            for c in calls:
                c["keep"] = [int(i) for i in keep]
        results = []
        # Keep messages to the student process bounded: chunks of 512 calls.
        for start in range(0, len(calls), 512):
            chunk = calls[start:start + 512]
            out = self.process.calls_batch(chunk)
            self.calls += len(out)
            for r in out:
                if r.get("forbidden"):
                    self.violations.extend(str(v) for v in r["forbidden"])
                    raise Forbidden(", ".join(map(str, r["forbidden"])))
                if r.get("ok") is not True:
                    err = r.get("error") if isinstance(r.get("error"), dict) else {}
                    raise StudentRaised(fn, err)
                self.warnings.extend(str(w) for w in (r.get("warnings") or []))
                if global_rng_seed is not None:
                    used = r.get("global_rng_changed")
                    self.global_rng_changed.append(
                        [str(u) for u in used] if isinstance(used, list) else ["unknown"])
                results.append((r.get("value"), r.get("inputs")) if inputs else r.get("value"))
        return results

    def call(self, fn: str, *args, **kwargs):
        """Call ``fn(*args, **kwargs)`` in the student process; see :meth:`map`."""
        return self.map(fn, [(args, kwargs)])[0]

    def rng_handle(self, seed: int):
        """A :class:`~grader.runner.codec.Handle` to ``np.random.default_rng(seed)`` living in the
        student process: pass it to several calls and they share one generator that advances
        (unlike :class:`~grader.runner.codec.Rng`, which builds a fresh generator per call)."""
        return self.process.new_rng(seed)

    def call_with_inputs(self, fn: str, *args, **kwargs):
        """Like :meth:`call`, returning ``(value, (args_after, kwargs_after))``."""
        return self.map(fn, [(args, kwargs)], inputs=True)[0]

    def signature(self, fn: str) -> list[str] | None:
        """Parameter names of the student's ``fn`` as the student process reports them, or None
        when the module has no such function."""
        return self.process.signature(fn)


# ---------------------------------------------------------------------------------------------
def locate(exercise: Exercise, path: str | os.PathLike) -> Path | None:
    """The student's file for ``exercise`` under ``path``.

    A file path is used as is; in a folder, ``exercises/<module>`` is tried first, then
    ``<module>`` at its root, then the same two places for a notebook ``<module stem>.ipynb``
    (graded through :mod:`grader.notebook`), then ``<stem>/<stem>.ipynb`` (a student's folder in
    an nbgrader course's ``submitted/``). Returns None when none exists.
    """
    p = Path(path)
    if p.is_file():
        return p
    stem = Path(exercise.filename).stem
    notebook = f"{stem}.ipynb"
    for candidate in (p / "exercises" / exercise.filename, p / exercise.filename,
                      p / "exercises" / notebook, p / notebook, p / stem / notebook):
        if candidate.is_file():
            return candidate
    return None


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
                       time.perf_counter() - t0 if t0 is not None else 0.0, message, calls,
                       check.description, output,
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
    if file is not None and file.suffix.lower() == ".ipynb":  # code cells -> temporary .py
        from grader.notebook import grade_notebook
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
    try:
        source = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        res.checks = unrun(exercise, opts, "error", f"cannot read {file}: {exc.strerror}")
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


def write_report_file(path: str | os.PathLike, text: str) -> None:
    """Write a report file so that nothing a student process left at ``path`` redirects or
    blocks it: ``text`` goes to a new file beside ``path`` that then replaces whatever is there
    (a forged report, a symlink to elsewhere, a FIFO that would block the writer, a read-only
    file) in one atomic rename.

    Raises:
        OSError: the folder is not writable, or ``path`` is a folder.
    """
    import tempfile
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def clear_report_paths(paths) -> None:
    """Remove what a student process may have planted at report paths before reporters write
    them with a plain ``open(path, "w")``: a symlink (which the write would follow), a FIFO (which
    would block it) or a file made read-only. Folders are left (writing to them fails loudly);
    ``None`` and ``"-"`` are skipped."""
    import stat
    for p in paths:
        if not p or p == "-":
            continue
        try:
            if not stat.S_ISDIR(os.lstat(p).st_mode):
                os.unlink(p)
        except OSError:
            pass
