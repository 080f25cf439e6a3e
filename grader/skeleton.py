"""Student skeletons from solution files (nbgrader's ``### BEGIN/END SOLUTION`` markers).

A marked block is replaced by ``raise NotImplementedError("<TODO text>")`` at the block's
indentation, where the TODO text is the ``# TODO:`` comment just above the block (kept in the
skeleton). Everything outside the markers is copied unchanged.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_TODO = re.compile(r"^\s*# TODO:\s*(.*)$")


class MarkerError(ValueError):
    """Unbalanced or nested solution markers; the message names the file and line."""


def make_skeleton(source: str, name: str = "<solution>") -> str:
    """The skeleton of one solution file.

    Args:
        source: the solution's text. name: its name, for errors.

    Returns:
        The skeleton's text (valid Python; checked with ``ast.parse``).

    Raises:
        MarkerError: markers unbalanced or nested, or the result does not parse.
    """
    out: list[str] = []
    inside = False
    todo = "write your code here"
    for no, line in enumerate(source.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise MarkerError(f"{name}:{no}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            for prev in reversed(out):
                if prev.strip():
                    m = _TODO.match(prev)
                    todo = m.group(1).strip() if m else "write your code here"
                    break
            out.append(f"{indent}raise NotImplementedError({todo!r})\n")
        elif stripped == END:
            if not inside:
                raise MarkerError(f"{name}:{no}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{name}: {BEGIN} is never closed")
    text = "".join(out)
    try:
        ast.parse(text)
    except SyntaxError as exc:
        raise MarkerError(f"{name}: the skeleton does not parse: {exc}") from None
    return text


def generate(solutions: Path, exercises: Path) -> list[Path]:
    """Write ``exercises/<file>`` for every ``solutions/ex*.py``; returns the files written."""
    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted(solutions.glob("ex[0-9][0-9]_*.py")):
        dst = exercises / src.name
        dst.write_text(make_skeleton(src.read_text(encoding="utf-8"), src.name), encoding="utf-8")
        written.append(dst)
    return written
