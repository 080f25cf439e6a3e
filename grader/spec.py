"""Exercises as data: what a student must write and how it is judged.

An exercise module under ``grader/exercises/`` builds one :class:`Exercise` and names it
``EXERCISE``; the registry (``grader.exercises``) finds it. Nothing else in the engine has to
change to add an exercise.

A check is a plain function ``check(ctx) -> None`` that raises :class:`Fail` with a message in the
student's terms when the submission is wrong. ``ctx`` is a :class:`grader.engine.Context`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

Kind = Literal["signature", "value", "gradient", "statistic", "property", "performance", "forbidden"]
Status = Literal["pass", "fail", "error", "skip"]
KINDS: tuple[str, ...] = ("signature", "value", "gradient", "statistic", "property", "performance",
                          "forbidden")


class Fail(Exception):
    """Raised by a check: the submission is wrong. ``str(exc)`` is the student-facing message."""


class Skip(Exception):
    """Raised by a check that does not apply here (e.g. a CUDA timing with no GPU)."""


@dataclass(frozen=True)
class Function:
    """A function the student writes.

    Attributes:
        name: the function's name in the student's module.
        params: parameter names in order, exactly as the contract spells them.
        returns: number of returned values when a tuple is returned, or ``1`` for a single array.
    """

    name: str
    params: tuple[str, ...]
    returns: int = 1


@dataclass(frozen=True)
class Check:
    """One judgement with its points.

    Attributes:
        name: short snake_case identifier, stable across versions (it appears in reports).
        kind: one of :data:`KINDS`.
        points: the points the check is worth (a float, >= 0).
        run: ``run(ctx)``; returns on pass, raises :class:`Fail` or :class:`Skip`.
        functions: names of the student functions it exercises; when any is missing or raises
            ``NotImplementedError`` the check is reported without running it.
        description: one line shown in listings and JUnit/Gradescope output.
    """

    name: str
    kind: Kind
    points: float
    run: Callable[..., None]
    functions: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, eq=False)
class Exercise:
    """An exercise: identity, the functions to write, what is forbidden, and the checks.

    Attributes:
        id: ``"ex01"`` .. ``"exNN"``.
        slug: the name after the id, e.g. ``"sigmoid"``; the module is ``f"{id}_{slug}.py"``.
        title: human title.
        backend: ``"numpy"`` or ``"torch"``.
        functions: the functions the student writes.
        checks: the ordered checks with their points.
        forbidden_imports: top-level module names the student may not import.
        forbidden_calls: dotted names (``"scipy.special.expit"``) the student may not call.
        forbidden_ops: aten operator name prefixes refused at run time while student code runs
            (torch exercises; autograd is always refused there).
        teaching: markdown text used by the notebook templates: the task, the maths and a hint.
        plan: the exercise's timing and counting plan (a :class:`grader.checks.performance.Plan`,
            declared in the exercise's ``plan`` module), or None.
        oracle_modules: heavy modules the grader's oracles import (``"torch"``,
            ``"scipy.stats"``); :func:`grader.engine.grade` imports them in a background thread
            while the student process starts, so the two waits overlap.
    """

    id: str
    slug: str
    title: str
    backend: Literal["numpy", "torch"]
    functions: tuple[Function, ...]
    checks: tuple[Check, ...]
    forbidden_imports: tuple[str, ...] = ()
    forbidden_calls: tuple[str, ...] = ()
    forbidden_ops: tuple[str, ...] = ()
    teaching: str = ""
    oracle_modules: tuple[str, ...] = ()
    plan: object = None
    config: dict = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.id}_{self.slug}.py"

    @property
    def number(self) -> int:
        return int(self.id[2:])

    @property
    def max_score(self) -> float:
        return float(sum(c.points for c in self.checks))

    def function(self, name: str) -> Function:
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(name)
