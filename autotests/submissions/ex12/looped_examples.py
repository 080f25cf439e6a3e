# expect: performance fail a Python loop over the elements
# expect: op_count fail loops in Python over the examples
# Correct logistic loss and gradients, accumulated one example at a time.
import math

import numpy as np


def _log1pexp(z):
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


def logistic_loss(w, b, X, y, reg=0.0):
    n = X.shape[0]
    loss, dw, db = 0.0, np.zeros_like(w), 0.0
    for i in range(n):
        z = float(X[i] @ w + b)
        loss += _log1pexp(z) - y[i] * z
        p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        dw += (p - y[i]) * X[i]
        db += p - y[i]
    return float(loss / n + 0.5 * reg * np.dot(w, w)), dw / n + reg * w, float(db / n)


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = []
    for _ in range(num_iters):
        loss, dw, db = logistic_loss(w, b, X, y, reg)
        losses.append(loss)
        w = w - learning_rate * dw
        b = b - learning_rate * db
    return w, b, losses
