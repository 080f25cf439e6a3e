"""Oracles and helpers of ex02: forward formulas, numerical reference gradients, inputs, and the
unpacking of the student's outputs with messages in the student's terms."""
from __future__ import annotations

import numpy as np

from grader.checks.compare import expect_array
from grader.checks.gradients import numerical_gradient
from grader.spec import Fail

PARAMS = ("W1", "b1", "W2", "b2")


# -- oracles (forward only) -------------------------------------------------------------------
def oracle_affine(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def oracle_relu(x):
    return np.maximum(0.0, x)


def oracle_softmax_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(scores.shape[0]), y].mean())


def oracle_two_layer(X, y, W1, b1, W2, b2, reg=0.0):
    scores = oracle_affine(oracle_relu(oracle_affine(X, W1, b1)), W2, b2)
    return oracle_softmax_loss(scores, y) + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))


def oracle_gradient(f, inputs: dict, name: str, dout=None) -> np.ndarray:
    """The full gradient of ``sum(dout * f(**inputs))`` w.r.t. ``name`` by central differences
    of an oracle forward (float64, h = 1e-6; error ~1e-9 on the shapes used here)."""
    x = inputs[name]
    coords = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in range(x.size)]
    num, _ = numerical_gradient(lambda pts: [f(**p) for p in pts], inputs, name, dout, coords)
    return num.reshape(x.shape)


# -- helpers ------------------------------------------------------------------------------------
def _loss(value, fn: str) -> float:
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        loss = float(value)
    elif isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        loss = float(value.reshape(()))
    else:
        kind = "None" if value is None else type(value).__name__
        if isinstance(value, np.ndarray):
            kind = f"an array of shape {value.shape}"
        raise Fail(f"{fn} returned {kind} as the loss; it must be a single float. Hint: average "
                   "the per-example losses with .mean()")
    if not np.isfinite(loss):
        raise Fail(f"{fn} returned a loss of {loss}. Hint: exp overflowed or log(0) was taken; "
                   "subtract the row maximum from the scores first")
    return loss


def _scale_hint(got: np.ndarray, expected: np.ndarray, n: int, what: str) -> str:
    """Names the usual factor-of-N mistakes when ``got`` is ``expected`` times a constant."""
    if not np.any(expected):
        return ""
    k = float(np.sum(got * expected) / np.sum(expected * expected))
    if not np.allclose(got, k * expected, rtol=1e-4, atol=1e-7):
        return ""
    if n > 1 and np.isclose(k, 1.0 / n):
        return f"{what} is divided by N = {n}: it must be a sum over the batch, not a mean"
    if n > 1 and np.isclose(k, n):
        return f"{what} is N = {n} times too large: average over the batch (divide by N)"
    if np.isclose(k, -1.0):
        return f"{what} has the wrong sign"
    if np.isclose(k, 2.0) or np.isclose(k, 0.5):
        return f"{what} is off by a factor of {k:g}"
    return ""


def _layer_inputs(ctx, x_shape, m):
    x = ctx.rng.normal(size=x_shape)
    d = int(np.prod(x_shape[1:]))
    return x, ctx.rng.normal(size=(d, m)), ctx.rng.normal(size=(m,))


def _arr(value, fn, what, shape):
    return expect_array(value, fn=fn, what=what, shape=shape)

def unwrap_shape(value, fn, what, shape, reshape_hint=False):
    if reshape_hint and isinstance(value, np.ndarray) and value.ndim == 2 and len(shape) > 2 \
            and value.size == int(np.prod(shape)):
        raise Fail(f"{fn}: {what} has shape {value.shape}, expected {shape} (the shape of x). "
                   "Hint: reshape dx back to x.shape - x had extra dimensions that the forward "
                   "pass flattened")
    return _arr(value, fn, what, shape)

def _nudged(ctx, shape):
    """Random inputs at least 0.05 away from ReLU's kink at 0."""
    return np.sign(ctx.rng.standard_normal(shape)) * (0.05 + np.abs(ctx.rng.standard_normal(shape)))

def _scores(ctx, n, c, scale=3.0):
    return ctx.rng.normal(0.0, scale, size=(n, c)), ctx.rng.integers(0, c, size=n)

def _network(ctx, n=6, d=5, h=4, c=3):
    X = ctx.rng.normal(size=(n, d))
    y = ctx.rng.integers(0, c, size=n)
    params = {"W1": ctx.rng.normal(0, 0.7, size=(d, h)), "b1": ctx.rng.normal(0, 0.1, size=h),
              "W2": ctx.rng.normal(0, 0.7, size=(h, c)), "b2": ctx.rng.normal(0, 0.1, size=c)}
    # Keep every hidden pre-activation at least 0.05 away from ReLU's kink, so central
    # differences (h = 1e-6) never straddle it.
    a1 = X @ params["W1"] + params["b1"]
    params["b1"] = params["b1"] + np.where(np.abs(a1).min(axis=0) < 0.05, 0.1, 0.0)
    return X, y, params
