# expect: loss_values fail reg is ignored in dw: it lacks reg*w
# expect: gradient_numeric fail reg is ignored in dw
"""Wrong: the penalty is in the loss but its gradient reg*w is left out of dw."""
import numpy as np


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * np.sum(w ** 2)
    err = _sigmoid(z) - y
    return float(loss), X.T @ err / len(y), float(np.mean(err))


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w, b, losses = np.zeros(X.shape[1]), 0.0, []
    for _ in range(num_iters):
        loss, dw, db = logistic_loss(w, b, X, y, reg)
        losses.append(loss)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b, losses
