"""Every realistic submission in ``autotests/submissions/exNN/`` is judged as its header says.

A submission file declares what the grader must say about it in comment lines at the top:

    # expect: full                         every check passes (a correct variant)
    # expect: <check> <status> <text>      that check has that status and its message contains
                                           <text> (case-insensitive); several lines allowed

Checks not mentioned are not constrained (a wrong formula may legitimately fail several).
"""
from __future__ import annotations

import re

import pytest

from conftest import SUBMISSIONS, grade_file

_EXPECT = re.compile(r"^#\s*expect:\s*(\S+)(?:\s+(pass|fail|error|skip)\s*(.*))?$")


def _cases():
    return [pytest.param(path, id=f"{path.parent.name}/{path.stem}")
            for path in sorted(SUBMISSIONS.glob("ex*/*.py"))]


def _expectations(path):
    out = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        m = _EXPECT.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2), (m.group(3) or "").strip()))
    return out


@pytest.mark.parametrize("path", _cases())
def test_submission_is_judged_as_declared(path, tmp_path):
    expectations = _expectations(path)
    assert expectations, f"{path} declares no '# expect:' line"
    ex_id = path.parent.name
    # The grader finds files by their exercise name: copy the variant into a fake student repo.
    from grader.exercises import resolve
    target = tmp_path / "exercises" / resolve(ex_id).filename
    target.parent.mkdir()
    target.write_text(path.read_text())
    # Timing costs about half a second per variant: run the performance checks only for the
    # correct variants and those that declare a performance verdict (benchmarks/flake.py runs
    # them for every correct variant many times over).
    perf_checks = {c.name for c in resolve(ex_id).checks if c.kind == "performance"}
    perf = any(name == "full" or name in perf_checks for name, _, _ in expectations)
    result = grade_file(ex_id, tmp_path, perf=perf)
    by_name = {c.name: c for c in result.checks}
    table = "\n".join(f"  {c.name}: {c.status} {c.message[:300]!r}" for c in result.checks)
    for name, status, text in expectations:
        if name == "full":
            assert result.score == result.max_score, f"expected full marks:\n{table}"
            continue
        assert name in by_name, f"unknown check {name!r}; checks are {sorted(by_name)}"
        check = by_name[name]
        assert check.status == status, f"{name}: expected {status}, got:\n{table}"
        assert text.lower() in check.message.lower(), \
            f"{name}: message lacks {text!r}:\n{table}"
        if status != "pass":
            assert check.score == 0
    for c in result.checks:  # a submission's mistake is never the grader's crash
        assert "internal grader error" not in c.message, f"{c.name} crashed the grader:\n{table}"
    if not any(n == "full" for n, _, _ in expectations):
        assert result.score < result.max_score, f"a wrong submission got full marks:\n{table}"
