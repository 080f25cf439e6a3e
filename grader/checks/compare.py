"""Judging values: types, shapes, dtypes and closeness, with messages in the student's terms.

Every function here raises :class:`grader.spec.Fail` with a message that names the function, the
input, what was expected and what came back, and shows a small slice of both.

Tolerances (stated, per dtype, in the style of ``torch.testing.assert_close``): an element matches
when ``|got - expected| <= atol + rtol * |expected|``.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from grader.runner.codec import Handle, Tensor
from grader.spec import Fail

#: (rtol, atol) per dtype of the student's output. float64 is what CPU checks use; float32 is the
#: CUDA path (TF32 convolutions and matmuls included, hence the looser bound).
TOLERANCES = {
    "float64": (1e-6, 1e-8),
    "float32": (2e-3, 2e-4),
}


#: False while a ``signature`` probe runs: it judges types, arity, shapes and dtypes; NaN or inf
#: values are for the value checks to name (a NaN Adam step is not a wrong signature).
_JUDGE_FINITE = contextvars.ContextVar("dlgrade_judge_finite", default=True)


@contextlib.contextmanager
def form_only():
    """Inside, :func:`expect_array` accepts NaN and inf (see :data:`_JUDGE_FINITE`)."""
    token = _JUDGE_FINITE.set(False)
    try:
        yield
    finally:
        _JUDGE_FINITE.reset(token)


def describe_shape(a) -> str:
    return "(" + ", ".join(str(s) for s in np.shape(a)) + (",)" if np.ndim(a) == 1 else ")")


def _fmt(a: np.ndarray, limit: int = 6) -> str:
    flat = np.asarray(a, dtype=np.float64).ravel()
    body = np.array2string(flat[:limit], precision=5, separator=", ", max_line_width=200)
    return body[:-1] + (", ...]" if flat.size > limit else "]")


def unwrap(value, *, fn: str, what: str, device: str | None = None):
    """The numpy array inside a student's output, checking the torch device when asked.

    Args:
        value: an ``np.ndarray`` (numpy exercises) or a :class:`~grader.runner.codec.Tensor`.
        fn: the student's function name, for messages.
        what: which output ("the first return value", "dx").
        device: expected torch device type (``"cpu"``/``"cuda"``), or None for numpy exercises.

    Returns:
        np.ndarray

    Raises:
        Fail: not an array, a numpy array where a tensor was due, or a tensor on another device.
    """
    if isinstance(value, Tensor):
        if device is None:
            raise Fail(f"{fn} returned a torch tensor as {what}; this is a numpy exercise, "
                       "return an np.ndarray")
        if value.device.split(":")[0] != device:
            raise Fail(f"{fn} returned {what} on device '{value.device}', but the input was on "
                       f"'{device}'. Hint: create new tensors with device=x.device (or "
                       "torch.zeros_like(x)), never on the default device")
        return value.array
    if isinstance(value, np.ndarray):
        if device is not None:
            raise Fail(f"{fn} returned a numpy array as {what}; return a torch.Tensor on the "
                       "input's device")
        return value
    if value is None:
        raise Fail(f"{fn} returned None as {what}. Hint: a missing `return` statement?")
    if isinstance(value, Handle):
        raise Fail(f"{fn} returned a {value.type} as {what}, expected an array")
    raise Fail(f"{fn} returned a {type(value).__name__} as {what}, expected an array")


def expect_tuple(value, n: int, *, fn: str, names: str) -> tuple:
    """Check that ``value`` is a tuple/list of ``n`` items (``names`` like "(out, cache)").

    Raises:
        Fail: anything else, with what came back.
    """
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(value)
    if isinstance(value, (tuple, list)):
        raise Fail(f"{fn} returned {len(value)} values; it must return {n}: {names}")
    kind = "an array" if isinstance(value, (np.ndarray, Tensor)) else type(value).__name__
    if value is None:
        kind = "None (a missing `return`?)"
    raise Fail(f"{fn} returned {kind}; it must return a tuple {names}")


def expect_array(value, *, fn: str, what: str, shape: tuple, dtype: str = "float64",
                 device: str | None = None) -> np.ndarray:
    """Unwrap an output and check its shape and dtype (and that it is finite, except inside
    :func:`form_only`).

    Raises:
        Fail: wrong type, shape, dtype, or NaN/inf values.
    """
    a = unwrap(value, fn=fn, what=what, device=device)
    if tuple(a.shape) != tuple(shape):
        raise Fail(f"{fn}: {what} has shape {describe_shape(a)}, expected {describe_shape(np.empty(shape))}"
                   + (". Hint: reshape back to the input's shape" if a.size == int(np.prod(shape)) else ""))
    if str(a.dtype) != dtype:
        raise Fail(f"{fn}: {what} has dtype {a.dtype}, expected {dtype}. Hint: do not cast "
                   f"(e.g. .astype(np.float32) or torch.float32); keep the input's dtype")
    if a.dtype.kind == "f" and _JUDGE_FINITE.get() and not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise Fail(f"{fn}: {what} contains {a[tuple(bad)]} at index {list(map(int, bad))}. "
                   "Hint: an overflowing exp, a division by zero or log(0)")
    return a


def assert_close(got: np.ndarray, expected: np.ndarray, *, fn: str, what: str, on: str,
                 hint: str = "", dtype: str | None = None, rtol: float | None = None,
                 atol: float | None = None) -> None:
    """Compare ``got`` with the oracle's ``expected`` elementwise at the dtype's tolerance.

    Args:
        got, expected: same-shape arrays.
        fn: student function; what: which output; on: the input, described ("z of shape (3, 4)").
        hint: the usual cause of this mismatch, appended to the message.
        dtype: tolerance row of :data:`TOLERANCES` (default: ``got``'s dtype, else float64).
        rtol, atol: override that row's tolerances (e.g. ``atol=0`` for quantities far below 1,
            such as sums of squared tiny gradients).

    Raises:
        Fail: with the count of mismatches, the largest absolute and relative difference, the
            index of the worst element and slices of expected vs got.
    """
    row_rtol, row_atol = TOLERANCES.get(dtype or str(got.dtype), TOLERANCES["float64"])
    rtol = row_rtol if rtol is None else rtol
    atol = row_atol if atol is None else atol
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise Fail(f"{fn}: {what} has shape {describe_shape(got)}, expected "
                   f"{describe_shape(expected)} (on {on})")
    diff = np.abs(got - expected)
    bad = ~(diff <= atol + rtol * np.abs(expected))
    if not bad.any():
        return
    worst = np.unravel_index(np.argmax(np.where(bad, diff, -1)), diff.shape) if diff.ndim else ()
    rel = diff / np.maximum(np.abs(expected), 1e-300)
    idx = "[" + ", ".join(str(int(i)) for i in worst) + "]"
    rel_text = f"rel diff {rel[worst]:.3g}" if expected[worst] != 0 else "where 0 was expected"
    msg = (f"{fn}: {what} is wrong on {on}: {int(bad.sum())} of {bad.size} elements differ "
           f"(largest abs diff {diff[worst]:.3g}, {rel_text} at {idx}; "
           f"tolerance atol={atol:g}, rtol={rtol:g}).\n"
           f"  expected {_fmt(expected)}\n  got      {_fmt(got)}")
    if hint:
        msg += f"\n  Hint: {hint}"
    raise Fail(msg)


def rel_error(a, b) -> float:
    """CS231n's relative error, ``max |a-b| / max(1e-8, |a|+|b|)`` (elementwise, then the max).

    Args:
        a, b: arrays or scalars of the same shape.

    Returns:
        float, 0 for identical inputs.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0.0))
