# expect: train_trajectory fail train_logistic returned list as a loss
# expect: loss_values pass
"""Wrong: the history list starts with an empty list as a placeholder, so losses is ragged
([[], 0.69, ...]). Regression: numpy was asked for the shape of the ragged list and the grader
crashed (internal error, exit 2); it is the student's failure, exit 1."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    n = X.shape[0]
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * w @ w
    p = np.exp(-np.logaddexp(0.0, -z))
    return loss, X.T @ (p - y) / n + reg * w, float(np.mean(p - y))


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w, b = np.zeros(X.shape[1]), 0.0
    history = [[]]
    for i in range(num_iters):
        loss, dw, db = logistic_loss(w, b, X, y, reg)
        history.append(loss)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b, history
