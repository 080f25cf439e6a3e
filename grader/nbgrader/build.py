"""Build an nbgrader course directory from dlgrade's exercise registry and ``solutions/``.

``dlgrade nbgrader build COURSE_DIR [EX...]`` writes::

    COURSE_DIR/nbgrader_config.py
    COURSE_DIR/source/<exNN_slug>/<exNN_slug>.ipynb      one assignment per exercise

Each source notebook (cells rendered from the jinja2 templates in ``grader/templates/nbgrader/``):

1. a read-only markdown cell teaching the task: the solution module's docstring (background and
   source), :attr:`grader.spec.Exercise.teaching` (the maths in LaTeX), then per function its
   signature, summary, the ``Args``/``Returns`` shapes of its docstring and its ``Hint``;
2. the solution file cut at its top-level statements: the imports as a read-only cell, each
   function holding ``### BEGIN SOLUTION`` / ``### END SOLUTION`` as an *autograded answer* cell
   (nbgrader metadata ``solution: true``), any other function as a read-only cell;
3. a read-only markdown cell on how the checks work, then one *autograder test* cell per group of
   checks (``grade: true``, ``locked: true``, ``points`` = the group's points, ``grade_id`` =
   ``<exNN>_test_<group>``). By default each check of the registry is its own group, so partial
   credit follows dlgrade's points exactly; an exercise may merge checks with
   ``Exercise.config["nbgrader_groups"] = [(name, (check, ...)), ...]``.

Test cells call :func:`grader.nbgrader.runtime.dlgrade_check`, which grades the saved notebook in
a separate process (see that module for why). ``nbgrader generate_assignment`` then removes the
solution regions (and any hidden test regions) to make the student version.
"""
from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from grader import __version__
from grader.spec import Check, Exercise

#: Strings nbgrader's preprocessors react to anywhere in a cell (ClearSolutions, ClearHiddenTests,
#: ClearMarkScheme, InstantiateTests): a cell that is not meant to carry them must not.
NBGRADER_DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                       "BEGIN MARK SCHEME", "END MARK SCHEME", "AUTOTEST")
#: A Python warning as printed on stderr ("file.py:12: UserWarning: ..."); nbgrader's IgnorePattern
#: drops stderr output matching it, so a warning does not zero a test cell.
WARNING_PATTERN = r"\b\w*Warning: "
DEFAULT_TIMEOUT_S = 600
_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):(?:\s+(.*))?$")
_SHAPE_SECTIONS = ("Args", "Arguments", "Parameters", "Returns", "Return", "Yields", "Shapes")
_HINT_SECTIONS = ("Hint", "Hints")


class BuildError(ValueError):
    """The course cannot be built (a solution is missing or malformed); the message says which."""


@dataclass(frozen=True)
class Group:
    """One graded test cell: some checks of an exercise and their points.

    Attributes:
        name: identifier used in the cell's ``grade_id`` (``[A-Za-z0-9_-]``).
        checks: the registry's checks judged by the cell.
        hidden: whether the cell's code sits between nbgrader's hidden-test delimiters.
    """

    name: str
    checks: tuple[Check, ...]
    hidden: bool = False

    @property
    def points(self) -> float:
        return float(sum(c.points for c in self.checks))


@dataclass(frozen=True)
class Chunk:
    """A top-level piece of a solution file: ``kind`` is "setup", "solution" or "given"."""

    kind: str
    name: str
    code: str


@dataclass(frozen=True)
class Options:
    """How to build.

    Attributes:
        course_id: nbgrader's ``CourseDirectory.course_id``.
        hidden: check selectors hidden from students (``check``, ``exNN:check`` or ``exNN:*``).
        seed: a fixed seed baked into the test cells (None: a fresh seed for every grading run).
        perf: include the ``performance`` checks (off by default: timings on a shared hub are noise).
        device: device of the torch exercises' checks ("cpu", "cuda" or "auto").
        exchange: ``Exchange.root`` to write into the config (None: left commented out).
        timeout: nbgrader's per-cell ``Execute.timeout`` in seconds.
        probe: :func:`build_course` first grades each reference solution with these options and
            leaves out the checks that do not apply here (status ``skip``, e.g. a CUDA check when
            grading on the CPU): in nbgrader a cell's points are fixed, so a skipped check would
            hand every student free points.
        leave_out: ``"exNN:check"`` names of checks to leave out (filled in by the probe).
    """

    course_id: str = "dlgrade"
    hidden: tuple[str, ...] = ()
    seed: int | None = None
    perf: bool = False
    device: str = "cpu"
    exchange: str | None = None
    timeout: int = DEFAULT_TIMEOUT_S
    probe: bool = True
    leave_out: tuple[str, ...] = ()


def environment() -> jinja2.Environment:
    """The jinja2 environment over ``grader/templates/nbgrader/`` (strict: an undefined name in a
    template is an error, not an empty string)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates/nbgrader"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["pyrepr"] = repr
    env.filters["fmt_points"] = lambda v: f"{float(v):g}"
    return env


def notebook_name(exercise: Exercise) -> str:
    """``exNN_slug``: the assignment's and the notebook's name (the notebook is ``<name>.ipynb``)."""
    return Path(exercise.filename).stem


# --------------------------------------------------------------------------------------------
# Solution files -> cells
def split_solution(source: str, name: str = "<solution>") -> tuple[str, list[Chunk]]:
    """Cut a solution file into its docstring and top-level chunks.

    Comments and blank lines before a statement belong to it; consecutive statements that are not
    function or class definitions form one chunk ("setup" before the first definition, "given"
    after it); a definition containing ``### BEGIN SOLUTION`` is a "solution" chunk, any other a
    "given" one. ``if __name__ == "__main__":`` blocks are left out (in a kernel they would run).

    Returns:
        ``(module_docstring, chunks)``.

    Raises:
        BuildError: the file does not parse.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise BuildError(f"{name}: does not parse: {exc}") from None
    lines = source.splitlines()
    doc = ast.get_docstring(tree) or ""
    body = list(tree.body)
    prev_end = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                             ast.Constant) and doc:
        prev_end = body[0].end_lineno
        body = body[1:]
    chunks: list[Chunk] = []
    pending: list[str] = []
    seen_def = False
    for node in body:
        end = node.end_lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # ast ends a definition at its last statement; comments indented under it (such as a
            # closing "### END SOLUTION") still belong to it.
            j = end
            while j < len(lines) and (not lines[j].strip() or (
                    lines[j][: node.col_offset + 1].isspace() and lines[j].lstrip().startswith("#"))):
                j += 1
                if lines[j - 1].strip():
                    end = j
        text = "\n".join(lines[prev_end:end])
        prev_end = end
        if _is_main_guard(node):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if pending:
                chunks.append(Chunk("given" if seen_def else "setup", "", "\n".join(pending)))
                pending = []
            seen_def = True
            kind = "solution" if "BEGIN SOLUTION" in text else "given"
            chunks.append(Chunk(kind, node.name, text))
        else:
            pending.append(text)
    tail = "\n".join(lines[prev_end:])
    if pending:
        chunks.append(Chunk("given" if seen_def else "setup", "", "\n".join(pending + [tail])))
    elif chunks and tail.strip():
        last = chunks[-1]
        chunks[-1] = Chunk(last.kind, last.name, last.code + "\n" + tail)
    chunks = [Chunk(c.kind, c.name, c.code.strip("\n")) for c in chunks if c.code.strip()]
    if not any(c.kind == "solution" for c in chunks):
        raise BuildError(f"{name}: no function holds a '### BEGIN SOLUTION' region")
    return doc, chunks


def _is_main_guard(node) -> bool:
    if not isinstance(node, ast.If):
        return False
    t = node.test
    return (isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "__name__"
            and len(t.comparators) == 1 and isinstance(t.comparators[0], ast.Constant)
            and t.comparators[0].value == "__main__")


def docstring_sections(doc: str) -> tuple[str, dict[str, str]]:
    """A Google-style docstring as ``(summary, {section: text})``.

    The summary is the first paragraph. A section starts at an unindented ``Name:`` line (the text
    after the colon starts its body) and runs to the next such line; bodies keep their indentation
    relative to the section header.
    """
    text = inspect.cleandoc(doc or "")
    paras = text.split("\n\n", 1)
    summary = " ".join(paras[0].split())
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines()[1:]:
        m = _SECTION.match(line)
        if m and not line.startswith(" "):
            current = m.group(1)
            sections[current] = [m.group(2)] if m.group(2) else []
        elif current is not None:
            sections[current].append(line)
    return summary, {k: "\n".join(v).strip("\n") for k, v in sections.items()}


def _function_info(chunk: Chunk) -> dict:
    node = next(n for n in ast.parse(chunk.code).body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    summary, sections = docstring_sections(ast.get_docstring(node) or "")
    def indented(body: str) -> str:  # a body line written at the header's level gets indented
        return "\n".join("    " + ln.strip() if ln.strip() and not ln.startswith(" ") else ln
                         for ln in body.splitlines())

    shapes = "\n".join(f"{k}:\n{indented(sections[k])}" for k in _SHAPE_SECTIONS if k in sections)
    hint = next((" ".join(sections[k].split()) for k in _HINT_SECTIONS if k in sections), "")
    hint = hint[:1].upper() + hint[1:]
    return {"name": node.name, "signature": f"{node.name}({ast.unparse(node.args)})",
            "summary": summary, "shapes": shapes, "hint": hint}


# --------------------------------------------------------------------------------------------
# Checks -> graded groups
def _selected(selectors: tuple[str, ...], exercise: Exercise, names: tuple[str, ...]) -> bool:
    for sel in selectors:
        ex, _, check = sel.rpartition(":")
        if ex and ex.lower() not in (exercise.id, exercise.slug, notebook_name(exercise)):
            continue
        if check == "*" or check in names:
            return True
    return False


def check_groups(exercise: Exercise, opts: Options = Options()) -> list[Group]:
    """The graded test cells of ``exercise``: one per check, or the exercise's own grouping.

    ``performance`` checks are left out unless ``opts.perf``, and so are the checks named in
    ``opts.leave_out``; a group is hidden when a selector of ``opts.hidden`` names one of its
    checks (or the group).

    Raises:
        BuildError: ``nbgrader_groups`` names an unknown check or leaves a check out.
    """
    checks = [c for c in exercise.checks if (opts.perf or c.kind != "performance")
              and f"{exercise.id}:{c.name}" not in opts.leave_out]
    by_name = {c.name: c for c in checks}
    spec = exercise.config.get("nbgrader_groups")
    if spec:
        groups, used = [], set()
        for gname, names in spec:
            unknown = [n for n in names if n not in {c.name for c in exercise.checks}]
            if unknown:
                raise BuildError(f"{exercise.id}: nbgrader_groups names unknown checks {unknown}")
            members = tuple(by_name[n] for n in names if n in by_name)
            used.update(names)
            if members:
                groups.append((gname, members))
        missing = [c.name for c in checks if c.name not in used]
        if missing:
            raise BuildError(f"{exercise.id}: nbgrader_groups leaves out checks {missing}")
    else:
        groups = [(c.name, (c,)) for c in checks]
    out = []
    for gname, members in groups:
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", gname):
            raise BuildError(f"{exercise.id}: group name {gname!r} is not a valid nbgrader id")
        names = (gname,) + tuple(c.name for c in members)
        out.append(Group(gname, tuple(members), _selected(opts.hidden, exercise, names)))
    return out


# --------------------------------------------------------------------------------------------
def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if grade:
        meta["points"] = float(points)
    return {"nbgrader": meta}


def build_notebook(exercise: Exercise, solution_source: str, opts: Options = Options()):
    """The nbgrader *source* notebook of ``exercise`` (an ``nbformat`` v4 NotebookNode).

    Args:
        exercise: the registry's spec. solution_source: the text of ``solutions/<module>``.
        opts: :class:`Options`.

    Raises:
        BuildError: the solution cannot be cut into cells, or a cell that is not a solution cell
            would carry one of nbgrader's delimiters.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    env = environment()
    name = notebook_name(exercise)
    nb_file = f"{name}.ipynb"
    doc, chunks = split_solution(solution_source, exercise.filename)
    background = doc.split("\n\n", 1)[1].strip() if "\n\n" in doc else ""
    functions = [_function_info(c) for c in chunks
                 if c.kind == "solution" and c.name in {f.name for f in exercise.functions}]
    functions += [_function_info(c) for c in chunks if c.kind == "solution" and
                  c.name not in {f["name"] for f in functions}]
    forbidden = sorted(set(exercise.forbidden_calls))
    cells = [new_markdown_cell(
        env.get_template("intro.md.j2").render(exercise=exercise, background=background,
                                               functions=functions, forbidden=forbidden).strip(),
        metadata=_meta(f"{exercise.id}_intro", locked=True))]
    given = 0
    for chunk in chunks:
        if chunk.kind == "solution":
            cells.append(new_code_cell(chunk.code, metadata=_meta(
                f"{exercise.id}_solution_{chunk.name}", solution=True)))
        else:
            given += 1
            gid = f"{exercise.id}_setup" if chunk.kind == "setup" else f"{exercise.id}_given_{given}"
            cells.append(new_code_cell(chunk.code, metadata=_meta(gid, locked=True)))
    groups = check_groups(exercise, opts)
    cells.append(new_markdown_cell(
        env.get_template("checks_intro.md.j2").render(
            exercise=exercise, notebook=nb_file, points=sum(g.points for g in groups),
            hidden=any(g.hidden for g in groups)).strip(),
        metadata=_meta(f"{exercise.id}_checks", locked=True)))
    options = ""
    if opts.seed is not None:
        options += f", seed={int(opts.seed)}"
    if opts.perf:
        options += ", perf=True"
    if opts.device != "cpu":
        options += f", device={opts.device!r}"
    test = env.get_template("test_cell.py.j2")
    for g in groups:
        names = [c.name for c in g.checks]
        src = test.render(exercise=exercise, notebook=nb_file, group=g, checks=g.checks,
                          target=names[0] if len(names) == 1 else names, points=g.points,
                          options=options)
        cells.append(new_code_cell(src.strip("\n"), metadata=_meta(
            f"{exercise.id}_test_{g.name}", grade=True, locked=True, points=g.points)))
    for cell in cells:
        solution = cell.metadata["nbgrader"]["solution"]
        hidden_ok = cell.metadata["nbgrader"]["grade"]
        for delim in NBGRADER_DELIMITERS:
            allowed = (solution and "SOLUTION" in delim) or (hidden_ok and "HIDDEN" in delim)
            if delim in cell.source and not allowed:
                raise BuildError(f"{exercise.id}: the text '{delim}' would appear in the cell "
                                 f"{cell.metadata['nbgrader']['grade_id']}, where nbgrader would "
                                 "misread it; reword the solution's docstring or teaching text")
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
        "dlgrade": {"exercise": exercise.id, "version": __version__}})
    nbformat.validate(nb)
    return nb


def probe_solutions(exercises: list[Exercise], solutions: str | Path,
                    opts: Options) -> tuple[tuple[str, ...], list[str]]:
    """Grade the reference solutions with the build's options (seed, perf, device).

    Returns:
        ``(leave_out, notes)``: ``"exNN:check"`` for every check that was skipped (it does not
        apply on this device or with these options), and one line per left-out check and per
        check the reference solution did not pass (a broken exercise: fix it before handing out).
    """
    import secrets

    from grader.engine import Options as GradeOptions, grade

    device = opts.device
    if device == "auto":
        device = "cpu"
        if any(e.backend == "torch" for e in exercises):
            import torch
            device = "cuda" if torch.cuda.is_available() else "cpu"
    seed = opts.seed if opts.seed is not None else secrets.randbelow(2**31)
    report = grade(exercises, solutions, GradeOptions(seed=seed, device=device, perf=opts.perf))
    leave_out, notes = [], []
    for ex in report.exercises:
        for c in ex.checks:
            if c.kind == "performance" and not opts.perf:
                continue
            if c.status == "skip":
                leave_out.append(f"{ex.id}:{c.name}")
                notes.append(f"{ex.id}: left out {c.name} (it does not apply here: {c.message})")
            elif c.status != "pass":
                first = c.message.splitlines()[0] if c.message else ""
                notes.append(f"{ex.id}: warning: the reference solution does not pass {c.name} "
                             f"with seed {seed}: {first}")
    return tuple(leave_out), notes


def build_course(course_dir: str | Path, exercises: list[Exercise], solutions: str | Path,
                 opts: Options = Options(), notes: list | None = None) -> list[Path]:
    """Write ``nbgrader_config.py`` and ``source/<name>/<name>.ipynb`` for each exercise.

    Args:
        course_dir: the nbgrader course folder (created if missing; other content is kept).
        exercises: the exercises to build, in order.
        solutions: the folder holding ``exNN_slug.py`` reference solutions.
        opts: :class:`Options`; with ``opts.probe`` the solutions are graded first
            (:func:`probe_solutions`) and skipped checks are left out.
        notes: a list that receives the probe's lines for the instructor (optional).

    Returns:
        The files written.

    Raises:
        BuildError: a solution file is missing or cannot be turned into a notebook.
    """
    import nbformat

    course = Path(course_dir)
    sol_dir = Path(solutions)
    sources = {}
    for ex in exercises:
        path = sol_dir / ex.filename
        if not path.is_file():
            raise BuildError(f"no solution {path} for {ex.id}: give the repository's solutions/ "
                             "folder with --solutions")
        sources[ex.id] = path.read_text(encoding="utf-8")
    if opts.probe:
        import dataclasses
        leave_out, lines = probe_solutions(exercises, sol_dir, opts)
        opts = dataclasses.replace(opts, leave_out=tuple(opts.leave_out) + leave_out)
        if notes is not None:
            notes.extend(lines)
    notebooks = {ex.id: build_notebook(ex, sources[ex.id], opts) for ex in exercises}
    course.mkdir(parents=True, exist_ok=True)
    written = []
    config = course / "nbgrader_config.py"
    config.write_text(environment().get_template("nbgrader_config.py.j2").render(
        version=__version__, course_id=opts.course_id, exchange=opts.exchange,
        timeout=int(opts.timeout), warning_pattern=WARNING_PATTERN), encoding="utf-8")
    written.append(config)
    for ex in exercises:
        name = notebook_name(ex)
        target = course / "source" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            nbformat.write(notebooks[ex.id], fh)
        written.append(target)
    return written
