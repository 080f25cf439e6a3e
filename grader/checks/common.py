"""Checks every exercise has: the functions' signatures, forbidden calls, inputs left untouched."""
from __future__ import annotations

import numpy as np

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
        probe(ctx)


def signature_check(probe, points: float = 1.0) -> Check:
    """A ``signature`` check: every function exists with the contract's parameter names, then
    ``probe(ctx)`` calls each once on a small input and checks the outputs' types, arity, shapes
    and dtypes (so a skeleton, which raises NotImplementedError, earns nothing here)."""
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
        Fail: naming the argument and the first changed element.
    """
    after = dict(zip(names, after_args))
    after.update(after_kwargs or {})
    for name, orig in before.items():
        if not isinstance(orig, np.ndarray):
            continue
        got = after.get(name)
        if isinstance(got, Tensor):
            got = got.array
        if not isinstance(got, np.ndarray) or got.shape != orig.shape or \
                not np.array_equal(got, orig, equal_nan=True):
            where = ""
            if isinstance(got, np.ndarray) and got.shape == orig.shape:
                idx = tuple(int(i) for i in np.argwhere(~np.isclose(got, orig, equal_nan=True))[0])
                where = f": {name}{list(idx)} was {orig[idx]:.6g}, is now {got[idx]:.6g}"
            raise Fail(f"{fn} changed its input `{name}` in place{where}. Hint: `a += b`, "
                       "`a *= b`, `a[mask] = 0` and `np.exp(x, out=x)` write into the caller's "
                       "array; compute into a new array (`a = a + b`) or copy first")
