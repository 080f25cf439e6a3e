# expect: loss_values fail divide by N
# expect: train_trajectory fail N*log 2
"""Wrong: sums over the examples."""
import numpy as np


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    n = X.shape[0]
    loss = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * np.dot(w, w))
    p = _sigmoid(z)
    dw = X.T @ (p - y) + reg * w
    db = float(np.sum(p - y))
    return loss, dw, db


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
