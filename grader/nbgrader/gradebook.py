"""Audit nbgrader's gradebook against dlgrade's grade computed outside any kernel.

``dlgrade nbgrader regrade COURSE_DIR ASSIGNMENT [--apply]`` grades every submission of an
assignment the tamper-proof way (``dlgrade check --path <notebook>``: the notebook's code cells in
dlgrade's isolated student process, no Jupyter kernel involved), maps each test cell of the
source notebook (``grade_id``) to dlgrade's points for its checks, and compares them with the
points in nbgrader's gradebook. ``--apply`` writes dlgrade's points as nbgrader *manual* scores
where they differ (nbgrader's ``score`` prefers a manual score), so ``nbgrader export`` and the
formgrader then report dlgrade's grade; a grader can still overrule any cell in the formgrader.

This is what an instructor runs when the course's ``nbgrader_config.py`` does not enable
:class:`grader.nbgrader.preprocessor.DlgradeVerdicts` (the test cells then judged inside the
students' kernels), or as an independent check of a finished autograde run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.nbgrader.preprocessor import parse_test_call


@dataclass
class CellAudit:
    """One graded test cell of one student's notebook.

    Attributes:
        grade_id: the nbgrader cell id. checks: dlgrade check names it stands for.
        nbgrader: the gradebook's score before any ``apply`` (``None``: no grade recorded).
        dlgrade: dlgrade's points for those checks. max_score: the cell's points.
        message: dlgrade's message when a check did not pass.
        applied: dlgrade's points were written to the gradebook as the manual score.
    """

    grade_id: str
    checks: tuple
    nbgrader: float | None
    dlgrade: float
    max_score: float
    message: str = ""
    applied: bool = False

    @property
    def agrees(self) -> bool:
        return self.nbgrader is not None and abs(self.nbgrader - self.dlgrade) < 1e-9


@dataclass
class StudentAudit:
    """All test cells of one student's submission of the assignment."""

    student: str
    notebook: str
    path: str
    cells: list = field(default_factory=list)

    @property
    def nbgrader(self) -> float:
        return float(sum(c.nbgrader or 0.0 for c in self.cells))

    @property
    def dlgrade(self) -> float:
        return float(sum(c.dlgrade for c in self.cells))

    @property
    def agrees(self) -> bool:
        return all(c.agrees for c in self.cells)


def _test_cells(source_notebook: Path) -> dict:
    """grade_id -> the ``dlgrade_check`` call of each dlgrade test cell in the source notebook."""
    from grader.notebook import read_cells
    out = {}
    for cell in read_cells(source_notebook):
        nbg = cell["metadata"].get("nbgrader") or {}
        if cell["cell_type"] == "code" and nbg.get("grade") and not nbg.get("solution"):
            call = parse_test_call(cell["source"])
            if call is not None:
                call["max_score"] = float(nbg.get("points", 0.0))
                out[nbg["grade_id"]] = call
    return out


def regrade(course_dir: str | Path, assignment: str, *, db_url: str | None = None,
            seed: int | None = None, apply: bool = False, progress=None) -> list[StudentAudit]:
    """Grade every submission of ``assignment`` outside any kernel and compare with the gradebook.

    Args:
        course_dir: the nbgrader course folder (``source/``, ``submitted/``, ``gradebook.db``).
        assignment: the assignment's name, e.g. ``"ex04_dropout"``.
        db_url: the gradebook's URL (default ``sqlite:///<course_dir>/gradebook.db``).
        seed: seed of dlgrade's random inputs (default: the one in the test cells, else fresh).
        apply: write dlgrade's points as manual scores where they differ from the gradebook.
        progress: optional ``progress(student_audit)`` called after each student.

    Returns:
        One :class:`StudentAudit` per submission, ordered by student id. A notebook that is
        missing from ``autograded/`` and ``submitted/`` scores 0 in dlgrade.

    Raises:
        ValueError: the assignment has no notebook with dlgrade test cells in ``source/``.
    """
    import secrets

    from nbgrader.api import Gradebook, MissingEntry

    from grader.engine import Options, grade
    from grader.exercises import resolve
    from grader.runner.process import Limits

    course = Path(course_dir).resolve()
    url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    sources = sorted((course / "source" / assignment).glob("*.ipynb"))
    plans = {nb.stem: _test_cells(nb) for nb in sources}
    plans = {k: v for k, v in plans.items() if v}
    if not plans:
        raise ValueError(f"{course / 'source' / assignment} has no notebook with dlgrade test cells")
    audits: list[StudentAudit] = []
    with Gradebook(url) as gb:
        submissions = sorted(gb.assignment_submissions(assignment), key=lambda s: s.student.id)
        for sub in submissions:
            student = sub.student.id
            for nb_name, cells in plans.items():
                path = course / "autograded" / student / assignment / f"{nb_name}.ipynb"
                if not path.is_file():
                    path = course / "submitted" / student / assignment / f"{nb_name}.ipynb"
                audit = StudentAudit(student, nb_name, str(path))
                verdicts: dict = {}
                for grade_id, call in cells.items():
                    key = (call["exercise"], call["perf"], call["device"])
                    if key not in verdicts:
                        run_seed = seed if seed is not None else call["seed"]
                        opts = Options(seed=secrets.randbelow(2**31) if run_seed is None
                                       else int(run_seed), device=call["device"], perf=call["perf"],
                                       limits=Limits(confine_writes=True))  # as autograde
                        if path.is_file():
                            report = grade([resolve(call["exercise"])], path, opts)
                            verdicts[key] = {c.name: c for c in report.exercises[0].checks}
                        else:
                            verdicts[key] = {}
                    names = [call["checks"]] if isinstance(call["checks"], str) else call["checks"]
                    results = [verdicts[key].get(n) for n in names]
                    points = float(sum(r.score for r in results if r is not None))
                    message = "; ".join(r.message.split("\n  reproduce: ")[0] for r in results
                                        if r is not None and r.status in ("fail", "error"))
                    try:
                        g = gb.find_grade(grade_id, nb_name, assignment, student)
                        current = None if g.auto_score is None and g.manual_score is None else \
                            float(g.score)
                    except MissingEntry:
                        g, current = None, None
                    cell = CellAudit(grade_id, tuple(names), current, points,
                                     call["max_score"], message)
                    if apply and g is not None and not cell.agrees:
                        g.manual_score = points
                        g.needs_manual_grade = False
                        cell.applied = True
                    audit.cells.append(cell)
                gb.db.commit()
                audits.append(audit)
                if progress:
                    progress(audit)
    return audits
