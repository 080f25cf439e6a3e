"""The ``op_count`` check: work counted at a base size and at grown sizes (noise-free).

Each function of a plan's ``counted`` units runs once at its base size and once per grown
dimension in the student's process (``opcount`` requests, :mod:`grader.runner.timing`), counting
the aten operators dispatched (torch exercises) and the line events of every frame of the
student's code (its file, its helper modules, code compiled at run time). A count that grows -
``c1 > GROWTH_FACTOR * c0 + GROWTH_SLACK`` - is a Python loop over that dimension; the message
names the dimension, both counts and the line run most often.
"""
from __future__ import annotations

from grader.checks.measure import request
from grader.spec import Fail, Skip

#: op_count: counts c0 (base size) and c1 (grown size) "grow" when
#: c1 > GROWTH_FACTOR * c0 + GROWTH_SLACK (a loop multiplies them by about the growth, 3x here).
GROWTH_FACTOR = 1.25
GROWTH_SLACK = 4


def _count(ctx, fn: str, args, kwargs) -> dict:
    answer = request(ctx, {"op": "opcount", "fn": fn, "args": list(args),
                            "kwargs": dict(kwargs),
                            "torch": ctx.exercise.backend == "torch"}, fn).answer
    ctx.calls += 1
    return answer


def _grows(c0: int, c1: int) -> bool:
    return c1 > GROWTH_FACTOR * c0 + GROWTH_SLACK


def _source_line(ctx, lineno: int) -> str:
    lines = (ctx.source or "").splitlines()
    if 1 <= lineno <= len(lines):
        text = lines[lineno - 1].strip()
        return f": `{text[:80]}`" if text else ""
    return ""


def _where(ctx, top, size: str) -> str:
    """The most-run line (``[file, lineno, hits]``; file "" is the student's exercise file)."""
    try:
        file, lineno, hits = str(top[0]), int(top[1]), int(top[2])
    except (TypeError, ValueError, IndexError):
        return ""
    source = _source_line(ctx, lineno) if not file else ""
    return (f" The line run most often is line {lineno} of {file or ctx.exercise.filename}"
            f"{source} ({hits} times for {size}).")


def run_op_count(ctx, plan) -> None:
    """The ``op_count`` check: see the module docstring."""
    if not ctx.perf:
        raise Skip("performance checks are off (--no-perf)")
    torch_ex = ctx.exercise.backend == "torch"
    problems = []
    for c in plan.counted:
        base = _count(ctx, c.fn, *c.build(ctx, dict(c.base)))
        if base.get("events", 0) == 0 and base.get("ops", 0) == 0:
            raise Fail(f"{c.fn}: the grader could not observe your code running (no line of your "
                       "file executed under the tracer): does it call sys.settrace or replace "
                       "the function at run time? Remove that")
        for key, value, phrase in c.growth:
            size = dict(c.base, **{key: value})
            grown = _count(ctx, c.fn, *c.build(ctx, size))
            unit, c0, c1 = None, 0, 0
            show = c.describe or (lambda sz, k=key: f"{k}={sz[k]}")
            if torch_ex and _grows(base["ops"], grown["ops"]):
                unit, c0, c1 = "torch operations", base["ops"], grown["ops"]
            elif _grows(base["events"], grown["events"]):
                unit, c0, c1 = "executed lines of your code", base["events"], grown["events"]
            if unit is None:
                continue
            where = ""
            if grown.get("lines"):
                where = _where(ctx, grown["lines"][0], show(size))
            problems.append(
                f"{c.fn} loops in Python over {c.what.get(key, 'the data')}: the number of {unit} "
                f"grows with {phrase} ({show(c.base)}: {c0}, {show(size)}: {c1}), while "
                f"vectorised code does the same number at any size.{where}")
            break
    if problems:
        raise Fail("\n".join(problems) + ("\n  Hint: " + plan.hint if plan.hint else ""))
