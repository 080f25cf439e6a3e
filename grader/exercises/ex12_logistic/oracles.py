"""The oracle of ex12 and the usual mistakes, restated as numpy (diagnosis only).

Oracle: loss = mean(logaddexp(0, z) - y·z) + 0.5·reg·‖w‖², z = X·w + b (log(1 + e^z) never
overflows in np.logaddexp); dw = Xᵀ(σ(z) - y)/N + reg·w; db = mean(σ(z) - y) (Bishop 2006,
§4.3.2). autotests/test_ex12_logistic.py checks it against sklearn.metrics.log_loss and
scipy.special.expit.
"""
from __future__ import annotations

import numpy as np

from grader.spec import Fail


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Stable σ(z): exp only of -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def oracle_loss(w, b, X, y, reg=0.0, *, mean=True, reg_factor=0.5, reg_b=False,
                grad_sign=1.0, grad_reg=1.0, reg_over_n=False):
    """(loss, dw, db) of the contract; the keyword flags restate a mistake (diagnosis only):
    ``reg_over_n`` divides the penalty and its gradient by N (reg/(2N)·‖w‖², the Deep Learning
    Specialization's convention)."""
    z = X @ w + b
    per = np.logaddexp(0.0, z) - y * z
    n = X.shape[0] if mean else 1.0
    if reg_over_n:
        reg = reg / X.shape[0]
    pen = reg_factor * reg * (np.dot(w, w) + (b * b if reg_b else 0.0))
    err = grad_sign * (sigmoid(z) - y)
    dw = X.T @ err / n + grad_reg * reg * w
    db = float(np.sum(err) / n + (grad_reg * reg * b if reg_b else 0.0))
    return float(np.sum(per) / n + pen), dw, db


def oracle_train(X, y, lr=0.1, num_iters=100, reg=0.0, *, after=False, w0=None, update_b=True):
    """(w, b, losses) of batch gradient descent; ``after`` records the loss after each update,
    ``update_b=False`` leaves b at 0 (a mistake, for diagnosis only)."""
    w = np.zeros(X.shape[1]) if w0 is None else w0.copy()
    b = 0.0
    losses = []
    for _ in range(num_iters):
        loss, dw, db = oracle_loss(w, b, X, y, reg)
        w, b = w - lr * dw, (b - lr * db if update_b else b)
        losses.append(oracle_loss(w, b, X, y, reg)[0] if after else loss)
    return w, b, losses


def as_float(value, fn: str, what: str) -> float:
    """A float (or 0-d / size-1 float array) out of a student's return value."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        try:
            out = float(value)
        except OverflowError:
            raise Fail(f"{fn} returned {what} as an integer of {abs(value).bit_length()} bits, "
                       "beyond any float64; it must be a float. Hint: average over the N "
                       "examples with np.mean") from None
    elif isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        if value.ndim > 0:
            raise Fail(f"{fn} returned {what} as an array of shape {value.shape}; return a float "
                       "(a 0-d array is accepted). Hint: float(np.mean(...))")
        out = float(value)
    else:
        kind = "None (a missing return?)" if value is None else type(value).__name__
        if isinstance(value, np.ndarray):
            kind = f"an array of shape {value.shape}"
        raise Fail(f"{fn} returned {kind} as {what}; it must be a single float. Hint: average "
                   "over the N examples with np.mean")
    if not np.isfinite(out):
        raise Fail(f"{fn} returned {what} = {out}. Hint: log(0) or an overflowing exp: write "
                   "the loss as np.logaddexp(0, z) - y*z with z = X @ w + b")
    return out
