# expect: stability fail log(0)
# expect: loss_values pass
"""Wrong: naive log(sigmoid) (DLS style), unstable."""
import numpy as np


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    n = X.shape[0]
    a = 1.0 / (1.0 + np.exp(-z))
    loss = float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)) + 0.5 * reg * np.dot(w, w))
    p = 1.0 / (1.0 + np.exp(-z))
    dw = X.T @ (p - y) / n + reg * w
    db = float(np.mean(p - y))
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
