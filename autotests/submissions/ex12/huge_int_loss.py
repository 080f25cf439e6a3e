# expect: loss_values fail beyond any float64
"""Wrong (and hostile, issue 11 class 3): the loss is a Python int of 13,288 bits. Regression:
converting it to float raised OverflowError inside the grader (internal error, exit 2)."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    p = np.exp(-np.logaddexp(0.0, -(X @ w + b)))
    return 10 ** 4000, X.T @ (p - y) / X.shape[0] + reg * w, float(np.mean(p - y))


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    return np.zeros(X.shape[1]), 0.0, [0.0] * num_iters
