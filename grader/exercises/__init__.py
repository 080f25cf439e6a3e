"""The exercise registry: every module ``grader/exercises/exNN_<slug>.py`` defining ``EXERCISE``.

Adding an exercise means adding one module here (plus its solution file); nothing else changes.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

from grader.spec import Exercise

_MODULE = re.compile(r"^ex(\d{2})_([a-z0-9_]+)$")


class UnknownExercise(KeyError):
    """No exercise matches the name given on the command line."""


def all_exercises() -> list[Exercise]:
    """Every registered exercise, ordered by number."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if _MODULE.match(info.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(module.EXERCISE)
    return sorted(found, key=lambda e: e.number)


def resolve(name: str) -> Exercise:
    """The exercise that ``name`` names: ``ex04``, ``ex4``, ``4``, ``dropout`` or ``ex04_dropout``.

    Raises:
        UnknownExercise: with the list of known ids in the message.
    """
    key = name.strip().lower().removesuffix(".py")
    # A module's name says its exercise's number and slug: import only the one named (importing
    # all thirteen costs about 70 ms of every single-exercise check); the registry decides.
    for info in pkgutil.iter_modules(__path__):
        found = _MODULE.match(info.name)
        if found and _names(key, int(found.group(1)), found.group(2), f"ex{found.group(1)}"):
            ex = importlib.import_module(f"{__name__}.{info.name}").EXERCISE
            if _names(key, ex.number, ex.slug, ex.id):
                return ex
    exercises = all_exercises()
    for ex in exercises:
        if _names(key, ex.number, ex.slug, ex.id):
            return ex
    known = ", ".join(f"{e.id} ({e.slug})" for e in exercises)
    raise UnknownExercise(f"unknown exercise '{name}'{_did_you_mean(key, exercises)}; "
                          f"known: {known}")


def _names(key: str, number: int, slug: str, ex_id: str) -> bool:
    """``key`` (lower case) names the exercise: its number (``4``, ``04``, ``ex4``), id, slug or
    ``exNN_slug``."""
    m = re.fullmatch(r"(?:ex)?0*(\d+)", key)
    return bool(m and int(m.group(1)) == number) or key in (slug, f"{ex_id}_{slug}", ex_id)


def _did_you_mean(key: str, exercises) -> str:
    """`` (did you mean 'dropout'?)``: the one or two exercises whose id, slug or
    ``exNN_slug`` is closest to ``key`` (difflib's ratio >= 0.6), each named once; or ""."""
    import difflib
    owner = {n: e for e in exercises for n in (e.id, e.slug, f"{e.id}_{e.slug}")}
    close = []
    for match in difflib.get_close_matches(key, list(owner), n=6, cutoff=0.6):
        if all(owner[c] is not owner[match] for c in close):
            close.append(match)
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"'{c}'" for c in close[:2]) + "?)"
