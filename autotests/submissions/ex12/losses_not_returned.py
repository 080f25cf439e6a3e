# expect: train_trajectory fail None (a missing return?) as losses
# expect: loss_values pass
"""Wrong: the training loop keeps its costs in a local list and returns None in its place (a
``return w, b, None`` left over from the skeleton) - a student-facing failure, not a grader crash
(regression: the grader died with "'NoneType' object is not iterable")."""
import numpy as np


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    n = X.shape[0]
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * w @ w
    p = _sigmoid(z)
    return loss, X.T @ (p - y) / n + reg * w, float(np.mean(p - y))


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w, b = np.zeros(X.shape[1]), 0.0
    costs = []
    for _ in range(num_iters):
        loss, dw, db = logistic_loss(w, b, X, y, reg)
        costs.append(loss)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b, None
