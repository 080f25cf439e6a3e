"""Numerical gradients by central differences (after CS231n's ``gradient_check.py``).

For a function ``f`` with array output ``y`` and an upstream gradient ``dout`` the scalar being
differentiated is ``L(x) = sum(dout * f(x))``, so ``dL/dx`` is exactly what a backward pass
computes. A partial derivative is ``(L(x + h e_i) - L(x - h e_i)) / (2h)`` (error O(h^2)); a
directional derivative along ``v`` is ``(L(x + h v) - L(x - h v)) / (2h)`` and must equal
``<dL/dx, v>``. The cost is two evaluations per coordinate or direction, so realistic shapes use a
few random coordinates plus a few random directions instead of the full Jacobian.

All evaluations are prepared first and run through ``evaluate_many`` in one batch, so checking a
gradient of a student's forward costs one round trip to the student process.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from grader.spec import Fail
from grader.checks.compare import rel_error

#: Step for float64 central differences.
H = 1e-6
#: A coordinate passes when ``|a - n| <= GRAD_ATOL + GRAD_RTOL * (|a| + |n|)`` (a relative error
#: below GRAD_RTOL in CS231n's sense, with an absolute floor for derivatives near zero).
GRAD_RTOL = 1e-5
GRAD_ATOL = 1e-7

Evaluate = Callable[[list[dict]], list]


def _scalar(out, dout) -> float:
    if dout is None:
        return float(np.asarray(out, dtype=np.float64))
    return float(np.sum(np.asarray(out, dtype=np.float64) * dout))


def probe_coords(shape: tuple, rng: np.random.Generator, max_coords: int) -> list[tuple]:
    """Every index of ``shape`` when there are at most ``max_coords``, else a random sample."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= max_coords else rng.choice(size, max_coords, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def numerical_gradient(evaluate_many: Evaluate, inputs: dict, name: str, dout, coords, *,
                       h: float = H, directions: Sequence[np.ndarray] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference partial derivatives of ``L = sum(dout * f(**inputs))`` w.r.t. ``name``.

    Args:
        evaluate_many: runs ``f`` on each of a list of input dicts; returns the outputs.
        inputs: the point, name -> float64 array (not modified).
        name: which input to differentiate.
        dout: upstream gradient shaped like ``f``'s output, or None when ``f`` returns a scalar.
        coords: indices into ``inputs[name]`` (from :func:`probe_coords`).
        h: the step.
        directions: arrays shaped like ``inputs[name]`` for directional derivatives.

    Returns:
        (partials at coords, directional derivatives), float64 arrays.
    """
    x = inputs[name]
    points = []
    for c in coords:
        for sign in (1.0, -1.0):
            xp = x.copy()
            xp[c] += sign * h
            points.append({**inputs, name: xp})
    for v in directions:
        for sign in (1.0, -1.0):
            points.append({**inputs, name: x + sign * h * v})
    outs = evaluate_many(points)
    vals = np.array([_scalar(o, dout) for o in outs])
    diffs = (vals[0::2] - vals[1::2]) / (2 * h)
    return diffs[:len(coords)], diffs[len(coords):]


def compare_gradient(analytic: np.ndarray, numeric: np.ndarray, coords, *, fn: str, what: str,
                     against: str, on: str, hint: str = "", analytic_dir=None, numeric_dir=None) -> None:
    """Fail when an analytic gradient disagrees with numerical partials/directional derivatives.

    Args:
        analytic: the student's full gradient array.
        numeric: partial derivatives at ``coords``.
        analytic_dir, numeric_dir: ``<analytic, v>`` and the numerical directional derivatives.
        against: what the numbers come from ("central differences of your forward").

    Raises:
        Fail: naming the worst coordinate, both values and the relative error.
    """
    a = np.array([analytic[c] for c in coords], dtype=np.float64)
    bad = np.abs(a - numeric) > GRAD_ATOL + GRAD_RTOL * (np.abs(a) + np.abs(numeric))
    if bad.any():
        k = int(np.argmax(np.where(bad, np.abs(a - numeric), -1)))
        idx = "[" + ", ".join(map(str, coords[k])) + "]"
        msg = (f"{fn}: {what} disagrees with {against} on {on}: {int(bad.sum())} of {len(coords)} "
               f"probed entries wrong; at {what}{idx} yours is {a[k]:.6g}, numerical "
               f"{numeric[k]:.6g} (relative error {rel_error(a[k], numeric[k]):.2g}, allowed "
               f"{GRAD_RTOL:g})")
        raise Fail(msg + (f"\n  Hint: {hint}" if hint else ""))
    if analytic_dir is not None and len(analytic_dir):
        ad, nd = np.asarray(analytic_dir), np.asarray(numeric_dir)
        bad = np.abs(ad - nd) > GRAD_ATOL + GRAD_RTOL * (np.abs(ad) + np.abs(nd))
        if bad.any():
            k = int(np.argmax(bad))
            msg = (f"{fn}: {what} disagrees with {against} on {on} along a random direction v: "
                   f"<{what}, v> is {ad[k]:.6g}, numerical directional derivative {nd[k]:.6g} "
                   f"(relative error {rel_error(ad[k], nd[k]):.2g})")
            raise Fail(msg + (f"\n  Hint: {hint}" if hint else ""))


def reference_values(own: list, spec: list, *, rtol: float = 1e-6, atol: float = 1e-9) -> tuple[list, bool]:
    """The forward values a numerical gradient check differentiates: the student's own where
    they agree with the oracle's at every perturbed point, else the oracle's.

    A backward pass is judged against the specification, never against another of the student's
    mistakes: when the student's forward is right, central differences of it are those of the
    oracle (and the message can say "of your forward"); when it is wrong, differentiating it would
    fail a correct backward and pass a backward that repeats the forward's mistake, so the
    oracle's forward is differentiated instead.

    Args:
        own: the student's forward outputs at the points (float64 arrays or floats).
        spec: the oracle's outputs at the same points.
        rtol, atol: closeness that counts as agreement.

    Returns:
        (values, own_used): the list to differentiate, and whether it is the student's.
    """
    agree = len(own) == len(spec) and all(
        np.shape(o) == np.shape(s) and bool(np.allclose(o, s, rtol=rtol, atol=atol))
        for o, s in zip(own, spec))
    return (own, True) if agree else (spec, False)
