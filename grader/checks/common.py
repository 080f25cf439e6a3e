"""Checks every exercise has (signatures, forbidden calls, inputs left untouched), and
:class:`Findings`, which lets one check report every mistake it diagnoses."""
from __future__ import annotations

import contextlib

import numpy as np

from grader.checks.compare import form_only
from grader.runner.codec import Tensor
from grader.spec import Check, Fail


def _signature(ctx, probe=None) -> None:
    problems = []
    for f in ctx.exercise.functions:
        params = ctx.signature(f.name)
        if params is None:
            problems.append(f"`{f.name}` is missing (check the spelling)")
        elif tuple(params[:len(f.params)]) != f.params:
            problems.append(f"`{f.name}({', '.join(params)})` should be "
                            f"`{f.name}({', '.join(f.params)})`")
    if problems:
        raise Fail("; ".join(problems) + ". The grader calls your functions with these names, "
                   "in this order.")
    if probe is not None:
        with form_only():  # NaN and inf values are the value checks' to name
            probe(ctx)


def signature_check(probe, points: float = 1.0) -> Check:
    """A ``signature`` check: every function exists with the contract's parameter names, then
    ``probe(ctx)`` calls each once on a small input and checks the outputs' types, arity, shapes
    and dtypes, not their values: NaN and inf pass here (so a skeleton, which raises
    NotImplementedError, earns nothing here, and a NaN step loses only the value checks)."""
    return Check("signature", "signature", points, lambda ctx: _signature(ctx, probe),
                 description="functions exist with the contract's parameters; outputs have the "
                             "right type, arity, shape and dtype")


def _forbidden(ctx) -> None:  # judged by the engine from the static scan and runtime guard
    raise AssertionError("the engine judges the forbidden check")  # pragma: no cover


def forbidden_check(points: float = 1.0) -> Check:
    """A ``forbidden`` check. The engine judges it from the static scan of the source and the
    runtime guard's findings over all the other checks (see :mod:`grader.engine`)."""
    return Check("no_forbidden_calls", "forbidden", points, _forbidden,
                 description="no autograd, no library call that is the exercise")


def assert_unchanged(before: dict, after_args: list, after_kwargs: dict, *, fn: str,
                     names: tuple[str, ...]) -> None:
    """Fail when an array argument came back changed: the student modified an input in place.

    Args:
        before: name -> the array as sent.
        after_args, after_kwargs: the arguments as the student process returned them after the call.
        names: the parameter names, in positional order.

    Raises:
        Fail: naming every changed argument and, for each, its first changed element.
    """
    after = dict(zip(names, after_args))
    after.update(after_kwargs or {})
    changed, details = [], []
    for name, orig in before.items():
        if not isinstance(orig, np.ndarray):
            continue
        got = after.get(name)
        if isinstance(got, Tensor):
            got = got.array
        if not isinstance(got, np.ndarray) or got.shape != orig.shape or \
                not np.array_equal(got, orig, equal_nan=True):
            changed.append(f"`{name}`")
            if isinstance(got, np.ndarray) and got.shape == orig.shape:
                idx = tuple(int(i) for i in np.argwhere(~np.isclose(got, orig, equal_nan=True))[0])
                details.append(f"{name}{list(idx)} was {orig[idx]:.6g}, is now {got[idx]:.6g}")
    if changed:
        listed = changed[0] if len(changed) == 1 else ", ".join(changed[:-1]) + " and " + changed[-1]
        where = f": {'; '.join(details)}" if details else ""
        raise Fail(f"{fn} changed its input{'s' if len(changed) > 1 else ''} {listed} in place"
                   f"{where}. Hint: `a += b`, `a *= b`, `a[mask] = 0` and `np.exp(x, out=x)` "
                   "write into the caller's array; compute into a new array (`a = a + b`) or "
                   "copy first")


class Failures(Fail):
    """Several failures of one check in one message; ``crash`` is ``(fn, error)`` of a crash of
    the student's code met on the way (the engine shows its traceback once per exercise), or
    None."""

    def __init__(self, message: str, crash=None, label: str = ""):
        super().__init__(message)
        self.crash = crash
        self.label = label


class Findings:
    """Collects the independent judgements of one check, so one mistake never hides another.

    Usage::

        found = Findings()
        with found.judge("x of shape (2, 3, 4)"):
            ...                      # may raise Fail or StudentRaised
        with found.judge():
            ...
        found.done()                 # raises what was found, or returns

    A judgement that fails is kept and the next one runs. A crash of the student's code
    (:class:`grader.engine.StudentRaised`) is kept too, with what was being judged. :meth:`done`
    raises a :class:`Failures` naming every failure (and the first crash), re-raises the crash
    when nothing else went wrong, and returns when everything passed.
    """

    def __init__(self):
        self.messages: list[str] = []
        self.crash = None            # (fn, error dict, label) of the first crash met

    @contextlib.contextmanager
    def judge(self, label: str = ""):
        from grader.engine import StudentRaised
        try:
            yield
        except StudentRaised as exc:
            if self.crash is None:
                self.crash = (exc.fn, exc.error, label)
        except Fail as exc:
            text = str(exc)
            if getattr(exc, "crash", None) is not None:
                # a Failures whose text ends by announcing its crash: the crash moves here
                text = text.rsplit("\n  Also, ", 1)[0]
                if self.crash is None:
                    self.crash = (*exc.crash, getattr(exc, "label", ""))
            if text not in self.messages:
                self.messages.append(text)

    def add(self, message: str) -> None:
        """Record a failure found without raising."""
        if message not in self.messages:
            self.messages.append(message)

    def merge(self, other: "Findings") -> None:
        """Take over the failures and the crash ``other`` collected."""
        for m in other.messages:
            self.add(m)
        if self.crash is None:
            self.crash = other.crash

    @property
    def failed(self) -> bool:
        return bool(self.messages or self.crash)

    def done(self) -> None:
        from grader.engine import StudentRaised
        if not self.messages:
            if self.crash is not None:
                raise StudentRaised(*self.crash)
            return
        text = self.messages[0] + "".join(f"\n  Also: {m}" for m in self.messages[1:])
        crash = None
        if self.crash is not None:
            fn, error, label = self.crash
            text += f"\n  Also, {'on ' + label if label else 'meanwhile'}: {fn} crashed:"
            crash = (fn, error)
        raise Failures(text, crash, self.crash[2] if self.crash else "")
