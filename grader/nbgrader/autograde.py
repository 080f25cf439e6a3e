"""``dlgrade nbgrader autograde``: nbgrader's autograde in which no student code runs in a kernel.

``nbgrader autograde`` executes each submitted notebook in a Jupyter kernel started as the
instructor: every student cell can read and write what the instructor can (the gradebook, the
course folder with the source notebooks, ``~/.jupyter``, site-packages) and sees the instructor's
environment. This module keeps nbgrader's own pipeline and replaces only that step:

1. nbgrader's :class:`~nbgrader.converters.autograde.Autograde` converter runs unchanged around
   it: it records the student and the submission (with ``timestamp.txt``) in the gradebook,
   copies the source folder's other files, and sanitises each notebook with nbgrader's own
   preprocessors (``ClearOutput``, ``DeduplicateIds``, ``OverwriteKernelspec``, ``OverwriteCells``
   - locked and test cells restored from the gradebook - and ``CheckCellMetadata``);
2. :class:`DlgradeGrade` takes the place of nbgrader's ``Execute``: it writes the sanitised
   notebook, as nbgrader holds it in memory, to a private temporary folder and grades it with
   :func:`grader.engine.grade` (the engine of ``dlgrade check --path NOTEBOOK``): the code cells
   become a module that runs in dlgrade's student process (its own user under root, writes
   confined to its scratch folder by Landlock, an environment built by the grader). Each dlgrade
   test cell gets an output: a status line, and for a failed check an ``AssertionError`` carrying
   dlgrade's message (what ``nbgrader generate_feedback`` shows);
3. nbgrader's ``SaveAutoGrades`` records the cells, then :class:`SaveDlgradeScores` writes each
   test cell's ``auto_score`` from dlgrade's points for the checks it stands for, and a comment
   with dlgrade's messages on each solution cell (the function's failed checks), through
   :class:`nbgrader.api.Gradebook`.

``nbgrader generate_feedback`` and ``nbgrader export`` then work unchanged on the result.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Dict, Integer, Unicode

from grader.nbgrader import runtime
from grader.nbgrader.preprocessor import parse_test_call

#: Key of nbconvert's ``resources`` under which :class:`DlgradeGrade` hands its verdicts on.
RESOURCE_KEY = "dlgrade"


class DlgradeGrade(NbGraderPreprocessor):
    """Grade the notebook with dlgrade's isolated runner (never a kernel) and write verdicts into
    the dlgrade test cells' outputs.

    Traits (set by :func:`autograde`): ``seed`` (>= 0: this seed for every notebook; -1: each
    test cell's own seed, else a fresh one per notebook), ``device`` (of test cells built for
    "cpu"), ``perf`` and ``limits`` (exercise id -> :class:`Limits` keyword arguments; an
    exercise not named gets the built-in limits with ``confine_writes`` on).
    """

    seed = Integer(-1).tag(config=True)
    device = Unicode("cpu").tag(config=True)
    perf = Bool(False).tag(config=True)
    limits = Dict({}).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        tests = []
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None  # nothing ran in a kernel
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if gid and utils.is_grade(cell) and not utils.is_solution(cell):
                    call = parse_test_call(cell.source)  # the instructor's: OverwriteCells
                    if call is not None:                 # restored it from the gradebook
                        tests.append((gid, cell, call))
        name = f"{resources.get('nbgrader', {}).get('notebook') or 'notebook'}.ipynb"
        verdicts: dict = {}
        reports: dict = {}
        for gid, cell, call in tests:
            key = (call["exercise"], call["seed"], call["perf"], call["device"])
            if key not in reports:
                reports[key] = self._grade(nb, name, *key)
            result = runtime.verdict(reports[key], call["exercise"], call["checks"], name)
            cell.outputs = _outputs(result, call["exercise"], call["checks"])
            verdicts[gid] = result
            self.log.info("dlgrade %s %s: %g/%g", call["exercise"], call["checks"],
                          result.score, result.max_score)
        resources[RESOURCE_KEY] = verdicts
        return nb, resources

    def _grade(self, nb: NotebookNode, name: str, exercise: str, seed, perf: bool,
               device: str) -> dict:
        """dlgrade's JSON report (contract section 4) for ``exercise`` on the notebook ``nb``, or
        ``{"_error": message}`` when the test cell names an exercise this dlgrade does not have.
        A failure of the grader itself is an ``error`` of the checks in the report (0 points),
        and is logged."""
        import secrets

        import nbformat

        from grader.engine import Options, grade
        from grader.exercises import UnknownExercise, resolve
        from grader.runner.process import Limits

        if self.seed >= 0:
            seed = self.seed
        run_seed = secrets.randbelow(2**31) if seed is None else int(seed)
        try:
            ex = resolve(exercise)
        except UnknownExercise as exc:
            return {"_error": exc.args[0], "seed": run_seed}
        limits = Limits(**self.limits.get(ex.id, {"confine_writes": True}))
        from grader.cli import _resolve_device
        device = _resolve_device(self.device if device == "cpu" else device, [ex])
        opts = Options(seed=run_seed, device=device,
                       perf=perf or self.perf, limits={ex.id: limits})
        with tempfile.TemporaryDirectory(prefix="dlgrade-nbgrader-") as tmp:
            path = Path(tmp) / name
            with open(path, "w", encoding="utf-8") as fh:
                nbformat.write(nb, fh)
            report = grade([ex], path, opts)
        data = report.to_dict()
        if report.internal_errors:
            self.log.error("dlgrade could not grade %s: %s", name, report.internal_errors[0])
        return data


def _outputs(result: runtime.CellResult, exercise: str, checks) -> list:
    line = runtime.status_line(result, exercise, checks) + " [graded by dlgrade, no kernel]\n"
    outs = [{"output_type": "stream", "name": "stdout", "text": line}]
    if not result.passed:
        outs.append({"output_type": "error", "ename": "AssertionError", "evalue": result.message,
                     "traceback": [f"\x1b[0;31mAssertionError\x1b[0m: {result.message}"]})
    return [from_dict(o) for o in outs]


def cell_points(result: runtime.CellResult, max_points: float) -> float:
    """A test cell's points from dlgrade's verdict on its checks.

    The cell's points were the checks' points when the notebook was built; should the two differ
    (the installed dlgrade changed a check's points since), the cell gets the same fraction of its
    own points that dlgrade gave. When dlgrade has no points to give: a failed verdict (an error,
    an unknown exercise) scores 0; checks that were all skipped (not applicable here) give the
    cell's points, as on nbgrader's kernel path (``dlgrade nbgrader build`` leaves such checks out
    of the notebook when it probes the reference solution).
    """
    if result.max_score <= 0:
        return 0.0 if not result.passed else float(max_points)
    if abs(result.max_score - max_points) < 1e-9:
        return float(result.score)
    return float(max_points) * float(result.score) / float(result.max_score)


class SaveDlgradeScores(NbGraderPreprocessor):
    """After nbgrader's ``SaveAutoGrades``: each dlgrade test cell's ``auto_score`` is dlgrade's
    points, and each solution cell's ``auto_comment`` lists dlgrade's messages for the checks of
    that function that did not pass."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        from nbgrader.api import Gradebook

        verdicts = resources.get(RESOURCE_KEY) or {}
        info = resources["nbgrader"]
        ids = (info["notebook"], info["assignment"], info["student"])
        failed_by_function: dict = {}
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                result = verdicts.get(meta.get("grade_id"))
                if result is None or not utils.is_grade(cell):
                    continue
                grade = gb.find_grade(meta["grade_id"], *ids)
                grade.auto_score = cell_points(result, float(meta.get("points", 0)))
                grade.needs_manual_grade = grade.manual_score is not None
                for record in result.checks:
                    if record["status"] in ("fail", "error"):
                        text = record.get("message", "").split("\n  reproduce: ")[0].strip()
                        for fn in _functions(record["name"], cell.source):
                            failed_by_function.setdefault(fn, []).append(
                                f"{record['name']}: {text}")
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                gid = meta.get("grade_id", "")
                if utils.is_solution(cell) and "_solution_" in gid:
                    fn = gid.split("_solution_", 1)[1]
                    messages = failed_by_function.get(fn)
                    if messages:
                        comment = gb.find_comment(gid, *ids)
                        if comment.auto_comment in (None, ""):
                            comment.auto_comment = "dlgrade: " + "\n\n".join(messages)
            gb.db.commit()
        return nb, resources


def _functions(check: str, source: str) -> list:
    """The student functions a check exercises (from the registry), else every function."""
    from grader.exercises import UnknownExercise, resolve
    call = parse_test_call(source) or {}
    try:
        ex = resolve(call.get("exercise", ""))
    except UnknownExercise:
        return []
    found = next((c for c in ex.checks if c.name == check), None)
    return list(found.functions) if found is not None and found.functions else \
        [f.name for f in ex.functions]


def confinement() -> str | None:
    """How the student processes of this run are kept from the course folder, or None.

    Returns:
        A one-line description (shown to the instructor), or None when neither holds here: not
        root (no other user to run as) and no Landlock in the kernel (Linux < 5.13 or disabled).
    """
    from grader.runner.process import Limits, resolve_run_as
    parts = []
    run_as = resolve_run_as(Limits().run_as, "torch")
    if run_as is not None:
        parts.append(f"student code runs as {Limits().run_as} (uid {run_as[0]})")
    if landlock_abi() > 0:
        parts.append("its writes are confined to its scratch folder (Landlock)")
    return "; ".join(parts) or None


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where there is none."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        return max(0, int(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))))
    except (OSError, AttributeError):
        return 0


def autograde(course_dir: str | os.PathLike, assignment: str, *, students=(), force=False,
              seed: int | None = None, device: str = "cpu", perf: bool = False,
              limits: dict | None = None, log_level: str = "INFO") -> tuple[list, list]:
    """Autograde ``assignment`` of the course at ``course_dir`` the dlgrade way (no kernel).

    Args:
        course_dir: the nbgrader course folder (``nbgrader_config.py``, ``source/``,
            ``submitted/``, ``gradebook.db``): nbgrader's configuration there is read as
            ``nbgrader autograde`` reads it, except the two preprocessor lists, which are
            nbgrader's defaults with ``Execute`` replaced by :class:`DlgradeGrade`.
        assignment: the assignment's name, e.g. ``"ex01_sigmoid"``.
        students: student ids to grade (default: every submission).
        force: grade again submissions already in ``autograded/``.
        seed: one seed for every notebook (default: each test cell's own, else fresh).
        device, perf: as ``dlgrade check --device`` / without ``--no-perf``.
        limits: exercise id -> :class:`~grader.runner.process.Limits` (default: built in, with
            ``confine_writes`` on).

    Returns:
        ``(submissions, failures)``: one dict per submission of the assignment in the gradebook
        (``student``, ``score``, ``max_score``: the gradebook's totals; ``timestamp``), and one
        message per student (or run) that nbgrader could not autograde, with its last log lines
        (e.g. the assignment is not in the gradebook: run ``nbgrader generate_assignment``).
    """
    import dataclasses
    import io
    import logging
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.converters.autograde import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import Execute, IgnorePattern, SaveAutoGrades
    from sqlalchemy.exc import SAWarning
    from traitlets.config import Config, PyFileConfigLoader

    course = Path(course_dir).resolve()
    cfg = Config()
    if (course / "nbgrader_config.py").is_file():  # the instructor's file, as nbgrader reads it
        cfg.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    cfg.CourseDirectory.root = str(course)
    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    steps = [DlgradeGrade if s is Execute else s for s in defaults if s is not IgnorePattern]
    steps.insert(steps.index(SaveAutoGrades) + 1, SaveDlgradeScores)
    cfg.Autograde.autograde_preprocessors = steps
    cfg.Autograde.sanitize_preprocessors = list(
        Autograde.class_traits()["sanitize_preprocessors"].default())
    cfg.Autograde.create_student = True
    cfg.Autograde.force = bool(force)
    cfg.OverwriteCells.add_missing_cells = True
    cfg.DlgradeGrade.seed = -1 if seed is None else int(seed)
    cfg.DlgradeGrade.device = device
    cfg.DlgradeGrade.perf = bool(perf)
    cfg.DlgradeGrade.limits = {k: dataclasses.asdict(v) for k, v in (limits or {}).items()}
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = assignment
    logger = logging.getLogger(f"dlgrade.nbgrader.{id(cfg)}")
    logger.setLevel(log_level)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger.addHandler(handler)
    failures = []
    try:
        for student in (students or ("*",)):
            coursedir.student_id = student
            converter = Autograde(coursedir=coursedir, config=cfg, log=logger)
            try:
                with warnings.catch_warnings():  # nbgrader 0.9's session warnings under
                    warnings.simplefilter("ignore", SAWarning)  # SQLAlchemy 2: noise only
                    converter.start()
            except NbGraderException:
                failures.extend(_failures(buffer.getvalue(), assignment))
            buffer.seek(0)
            buffer.truncate()
    finally:
        logger.removeHandler(handler)
    out = []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            subs = []
        for sub in sorted(subs, key=lambda s: s.student.id):
            if students and sub.student.id not in students:
                continue
            out.append({"student": sub.student.id, "score": float(sub.score),
                        "max_score": float(sub.max_score),
                        "timestamp": sub.timestamp.isoformat() if sub.timestamp else None})
    return out, failures


def _failures(log: str, assignment: str) -> list:
    """One line per student nbgrader's converter gave up on, from its log: the student and the
    error (e.g. ``zoe: nbgrader could not autograde ex01_sigmoid (NotJSONError: Notebook does not
    appear to be JSON ...); the gradebook holds no points for it``); the log's last lines when
    no student is named (the assignment is not in the gradebook, say)."""
    import re
    lines = log.splitlines()
    out, error = [], ""
    for line in lines:
        m = re.match(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.*)$", line.strip())
        if m:
            error = f"{m.group(1)}: {m.group(2)[:200]}"
        m = re.search(r"error processing assignment '.*' for student '(.*)'", line)
        if m:
            out.append(f"{m.group(1)}: nbgrader could not autograde {assignment} "
                       f"({error or 'see its log'}); the gradebook holds no points for it")
            error = ""
    if not out:
        out.append(f"nbgrader could not autograde {assignment}: "
                   + " / ".join(ln.strip() for ln in lines[-4:] if ln.strip()))
    return out

