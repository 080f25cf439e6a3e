"""Real students' code, wrapped to the contract, is judged as an independent reading says.

Each file in ``autotests/real/exNN/`` holds public student functions copied verbatim (arithmetic
untouched) from the repository, commit and path its header cites, and a thin wrapper adapting
their API to the contract (names, argument order, return tuples, tensors to arrays). Its header
states the expected verdict of every function of the exercise, written from reading the code:

    # source: https://github.com/OWNER/REPO/blob/COMMIT/PATH     (one or more)
    # verdict: FUNCTION correct
    # verdict: FUNCTION correct (looped)          correct but loops in Python
    # verdict: FUNCTION wrong: <what is wrong, in one line>
    # verdict: FUNCTION absent: <why>           the student's code has no such function (the
                                                checks naming it are not constrained)
    # expect: CHECK STATUS TEXT                   (optional, as in autotests/submissions)

and this test grades the file and asserts that every check whose functions are all ``correct``
passes (a check naming no function concerns all of them; ``performance`` and ``op_count`` are
exempt for a file with a ``(looped)`` function), that for every ``wrong`` function at least one
check naming it fails, and that every ``expect`` line holds. Files whose functions are all looped
are graded with ``--no-perf`` (their speed verdict is exempt anyway).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import grade_file

REAL = Path(__file__).resolve().parent / "real"
_VERDICT = re.compile(r"^#\s*verdict:\s*(\w+)\s+(correct(?:\s*\(looped\))?|wrong|absent)\s*:?\s*(.*)$")
_EXPECT = re.compile(r"^#\s*expect:\s*(\S+)\s+(pass|fail|error|skip)\s*(.*)$")
_SOURCE = re.compile(r"^#\s*source:\s*https://github\.com/([^/\s]+)/([^/\s]+)/blob/([0-9a-f]{7,40})/(\S+)$")
#: Checks a correct but looped implementation may fail.
SPEED = ("performance", "op_count")


def header(path: Path) -> dict:
    """The declarations at the top of ``path``: ``sources`` [(owner, repo, commit, path)],
    ``verdicts`` {function: ("correct" | "wrong", looped, what)}, ``expect`` [(check, status,
    text)]."""
    out = {"sources": [], "verdicts": {}, "expect": []}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        line = line.strip()
        if (m := _SOURCE.match(line)):
            out["sources"].append(m.groups())
        elif (m := _VERDICT.match(line)):
            kind = m.group(2) if m.group(2) in ("wrong", "absent") else "correct"
            out["verdicts"][m.group(1)] = (kind, "looped" in m.group(2), m.group(3).strip())
        elif (m := _EXPECT.match(line)):
            out["expect"].append((m.group(1), m.group(2), m.group(3).strip()))
    return out


def problems(exercise, results, decl: dict) -> list[str]:
    """What in ``results`` (CheckResults in spec order, or a subset with ``exercise`` checks of
    the same names) contradicts the declarations ``decl``; [] when dlgrade agrees."""
    verdicts = decl["verdicts"]
    looped = any(v[1] for v in verdicts.values())
    specs = {c.name: c for c in exercise.checks}
    everything = tuple(f.name for f in exercise.functions)
    out = []
    for r in results:
        fns = specs[r.name].functions or everything
        if all(verdicts[f][0] == "correct" for f in fns) and r.status not in ("pass", "skip") \
                and not (looped and r.name in SPEED):
            out.append(f"{r.name} ({', '.join(fns)} all correct) is {r.status}: {r.message[:300]}")
    for fn, (kind, _, what) in verdicts.items():
        if kind == "wrong":
            named = [r for r in results if fn in (specs[r.name].functions or everything)]
            if not any(r.status in ("fail", "error") for r in named):
                out.append(f"{fn} is wrong ({what}) but no check naming it failed")
    by_name = {r.name: r for r in results}
    for name, status, text in decl["expect"]:
        r = by_name.get(name)
        if r is not None and (r.status != status or text.lower() not in r.message.lower()):
            out.append(f"expected {name} {status} {text!r}, got {r.status}: {r.message[:300]}")
    return out


def _cases():
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in sorted(REAL.glob("ex*/*.py"))]


def test_there_are_ten_real_implementations_with_sources():
    files = sorted(REAL.glob("ex*/*.py"))
    assert len(files) >= 10
    for path in files:
        decl = header(path)
        assert decl["sources"], f"{path.name} cites no source (# source: https://github.com/...)"
        from grader.exercises import resolve
        ex = resolve(path.parent.name)
        assert set(decl["verdicts"]) == {f.name for f in ex.functions}, \
            f"{path.name}: a verdict per function of {ex.id}"


@pytest.mark.parametrize("path", _cases())
def test_real_code_is_judged_as_read(path, tmp_path):
    from grader.exercises import resolve
    ex = resolve(path.parent.name)
    decl = header(path)
    target = tmp_path / "exercises" / ex.filename
    target.parent.mkdir()
    target.write_text(path.read_text())
    all_looped = all(v[1] or v[0] == "wrong" for v in decl["verdicts"].values()) and \
        any(v[1] for v in decl["verdicts"].values())
    result = grade_file(ex.id, tmp_path, perf=not all_looped)
    table = "\n".join(f"  {c.name}: {c.status} {c.message[:200]!r}" for c in result.checks)
    found = problems(ex, result.checks, decl)
    assert not found, "\n".join(found) + "\n" + table
    for c in result.checks:
        assert "internal grader error" not in c.message, table
