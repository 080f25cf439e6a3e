"""Grading a Jupyter notebook: its code cells become one Python module graded like a ``.py`` file.

``dlgrade check ex04 --path submission.ipynb`` (and every test cell of a notebook built by
``dlgrade nbgrader build``) goes through here. The notebook is read as JSON (nbformat 4, or 3 with
its ``worksheets``) without importing Jupyter, its code cells are concatenated in notebook order into
a temporary ``exNN_slug.py``, and that file is graded by the normal isolated runner
(:func:`grader.engine.grade_exercise`): the student's code never runs in the grader's process.

What goes into the module:
    * code cells, in order; markdown and raw cells are left out;
    * not the autograder test cells: cells whose nbgrader metadata says ``grade: true`` without
      ``solution: true``, and any cell calling dlgrade's own notebook test helper (so a test cell
      whose metadata a student removed is still left out);
    * IPython syntax that is not Python (``%magic``, ``%%cell_magic``, ``!shell``, ``x = !cmd``,
      ``obj?``) is commented out, line by line, so it neither runs nor breaks the import. A cell
      magic whose body is Python (``%%time``, ``%%timeit``, ``%%capture``, ``%%prun``) keeps its body;
      any other cell magic (``%%bash``, ``%%writefile`` ...) comments out the whole cell.

Line numbers in messages (tracebacks, "at line N" of the forbidden-call scan) are mapped back to
``cell C, line L`` of the notebook, where C counts every cell from 1 as the notebook shows them.
"""
from __future__ import annotations

import ast
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.files import Refused, read_student_file

#: Cells that call dlgrade's notebook test helper are tests, never part of the student's module.
TEST_SENTINEL = "dlgrade_check("
#: Cell magics whose body is ordinary Python: the body is kept, the magic line commented out.
PYTHON_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})

_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")
_ASSIGN_MAGIC = re.compile(r"^\s*[\w.,\s\[\]()*]+=\s*[%!]")


class NotebookError(ValueError):
    """The file is not a readable Jupyter notebook; ``str(exc)`` is one line for the student."""


@dataclass
class NotebookModule:
    """A notebook's code as one Python module.

    Attributes:
        source: the module text (cells separated by a ``# cell C`` comment line).
        lines: for every line of ``source`` (index 0 = line 1), ``(cell, line_in_cell)`` with both
            counted from 1, or ``None`` for the separator comment lines.
        cells_used: the notebook cell numbers (from 1) whose code went into the module.
    """

    source: str
    lines: list = field(default_factory=list)
    cells_used: list = field(default_factory=list)

    def where(self, lineno: int) -> str | None:
        """``"cell C, line L"`` for line ``lineno`` (from 1) of :attr:`source`, or None."""
        if 1 <= lineno <= len(self.lines) and self.lines[lineno - 1] is not None:
            cell, line = self.lines[lineno - 1]
            return f"cell {cell}, line {line}"
        return None


def _text(value) -> str:
    """A notebook ``source`` field: a string or a list of strings (nbformat's multiline string)."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return ""
    # JSON may spell lone surrogates ("\\ud800"): no file or report can hold them as text.
    return value.encode("utf-8", "replace").decode("utf-8")


def read_cells(path: str | os.PathLike) -> list[dict]:
    """The cells of the notebook at ``path`` as plain dicts (``cell_type``, ``source``, ``metadata``).

    Args:
        path: a ``.ipynb`` file (nbformat 4, or nbformat 3 whose cells sit in ``worksheets``).

    Returns:
        A list of dicts with ``cell_type`` ("code"/"markdown"/"raw"/...), ``source`` (str) and
        ``metadata`` (dict), in notebook order.

    Raises:
        NotebookError: the file cannot be read, is not JSON, or is JSON but not a notebook; the
            message is one line naming the file and the position of a JSON error.
    """
    name = Path(path).name
    try:
        raw = read_student_file(path, Path(path).parent)
    except Refused as exc:
        raise NotebookError(f"cannot read the notebook {name}: {exc}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NotebookError(f"{name} is not a valid notebook: it is not UTF-8 text") from None
    except (RecursionError, MemoryError):
        raise NotebookError(f"{name} is not a valid notebook: its JSON nests too deeply to be "
                            "read; re-save it from Jupyter") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{name} is not a valid notebook: invalid JSON at line {exc.lineno}, "
                            f"column {exc.colno} ({exc.msg}); re-save it from Jupyter or restore "
                            "it from a checkpoint") from None
    if not isinstance(data, dict):
        raise NotebookError(f"{name} is not a valid notebook: the JSON is not an object")
    cells = data.get("cells")
    if cells is None and isinstance(data.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in data["worksheets"] if isinstance(ws, dict)
                 for c in (ws.get("cells") if isinstance(ws.get("cells"), list) else [])]
        for c in cells:
            if isinstance(c, dict) and "input" in c and "source" not in c:
                c["source"] = c["input"]
    if not isinstance(cells, list):
        raise NotebookError(f"{name} is not a valid notebook: it has no list of 'cells'")
    out = []
    for c in cells:
        if not isinstance(c, dict):
            raise NotebookError(f"{name} is not a valid notebook: a cell is not a JSON object")
        meta = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
        kind = c.get("cell_type")
        out.append({"cell_type": kind if isinstance(kind, str) else "",
                    "source": _text(c.get("source")),
                    "metadata": meta})
    return out


def is_test_cell(cell: dict) -> bool:
    """True for an autograder test cell: nbgrader ``grade`` without ``solution``, or a cell that
    calls dlgrade's notebook test helper."""
    nbg = cell.get("metadata", {}).get("nbgrader")
    if isinstance(nbg, dict) and nbg.get("grade") and not nbg.get("solution"):
        return True
    return TEST_SENTINEL in cell.get("source", "")


def _comment(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip())]
    return f"{indent}# (IPython, not run by dlgrade) {line.strip()}"


def strip_ipython(code: str) -> str:
    """``code`` with IPython-only syntax commented out; pure Python is returned unchanged.

    Args:
        code: one cell's source.

    Returns:
        The cell's text with the same number of lines (so line numbers still match the cell).
    """
    try:
        ast.parse(code)
        return code
    except SyntaxError:
        pass
    lines = code.split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(None, 1)[0] if lines[first].strip() != "%%" else ""
        if magic in PYTHON_BODY_CELL_MAGICS:
            lines[first] = _comment(lines[first])
        else:
            return "\n".join(_comment(ln) if ln.strip() else ln for ln in lines)
    out = []
    for ln in lines:
        s = ln.lstrip()
        if s.startswith(("%", "!")) or _ASSIGN_MAGIC.match(ln) or _HELP.match(ln):
            out.append(_comment(ln))
        else:
            out.append(ln)
    return "\n".join(out)


def to_module(path: str | os.PathLike) -> NotebookModule:
    """The code of the notebook at ``path`` as one module (see the module docstring for the rules).

    Raises:
        NotebookError: the file is not a readable notebook (one-line message).
    """
    cells = read_cells(path)
    parts: list[str] = []
    lines: list = []
    used: list[int] = []
    for number, cell in enumerate(cells, 1):
        if cell["cell_type"] != "code" or is_test_cell(cell):
            continue
        code = strip_ipython(cell["source"]).rstrip("\n")
        if not code.strip():
            continue
        used.append(number)
        parts.append(f"# cell {number}")
        lines.append(None)
        for i, _ in enumerate(code.split("\n"), 1):
            lines.append((number, i))
        parts.append(code)
        parts.append("")
        lines.append(None)
    return NotebookModule("\n".join(parts) + "\n", lines, used)


def relocate(message: str, module: NotebookModule, py_path: str, notebook_name: str) -> str:
    """Rewrite ``message`` so that it points into the notebook rather than the temporary module.

    ``File "<py_path>", line N`` becomes ``File "<notebook_name>", cell C, line L``; "at line N"
    (the forbidden-call scan) becomes "at cell C, line L"; any other mention of the temporary path
    becomes the notebook's name.
    """
    if not message:
        return message
    quoted = re.escape(py_path)

    def file_line(m):
        where = module.where(int(m.group(1)))
        return f'File "{notebook_name}", {where}' if where else f'File "{notebook_name}"'

    message = re.sub(r'File "' + quoted + r'", line (\d+)', file_line, message)

    def at_line(m):
        where = module.where(int(m.group(1)))
        return f"at {where}" if where else m.group(0)

    message = re.sub(r"\bat line (\d+)", at_line, message)
    return message.replace(py_path, notebook_name)


def grade_notebook(exercise, notebook: str | os.PathLike, opts, report_path: str | None = None,
                   reproduce_path=None):
    """Grade the functions a notebook defines, with the same isolation as a ``.py`` submission.

    Args:
        exercise: the :class:`grader.spec.Exercise`.
        notebook: the ``.ipynb`` file.
        opts: :class:`grader.engine.Options`.
        report_path: the path shown in the report (default: the notebook's path).
        reproduce_path: the ``--path`` of the reproduce command (default: the notebook).

    Returns:
        The :class:`grader.results.ExerciseResult`; its ``path`` is the notebook's, and line
        numbers in its messages are notebook cells and lines. A notebook that cannot be read makes
        every check an ``error`` with a one-line message (the student's file is at fault: exit 1).
    """
    from grader.engine import grade_exercise, unrun
    from grader.results import ExerciseResult

    shown = report_path or str(notebook)
    try:
        module = to_module(notebook)
    except NotebookError as exc:
        res = ExerciseResult(exercise.id, exercise.slug, shown)
        res.checks = unrun(exercise, opts, "error", str(exc))
        return res
    with tempfile.TemporaryDirectory(prefix="dlgrade-nb-") as tmp:
        py = Path(tmp) / exercise.filename
        py.write_text(module.source, encoding="utf-8")
        res = grade_exercise(exercise, py, opts, report_path=shown,
                             reproduce_path=notebook if reproduce_path is None else reproduce_path)
        py_path = str(py)
        name = Path(notebook).name
        for c in res.checks:
            c.message = relocate(c.message, module, py_path, name)
            c.output = relocate(c.output, module, py_path, name)
            # The temporary file may also appear under its resolved path (/tmp -> /private/tmp).
            c.message = relocate(c.message, module, os.path.realpath(py_path), name)
    return res


def unreadable_notebook(path: str | os.PathLike) -> str | None:
    """The one-line reason why ``path`` (a ``.ipynb`` file) is not a readable notebook, or None
    (also None when ``path`` is not a notebook file)."""
    p = Path(path)
    if p.suffix.lower() != ".ipynb" or not p.is_file():
        return None
    try:
        read_cells(p)
    except NotebookError as exc:
        return str(exc)
    return None
