# expect: loss_values fail divided by N
"""Wrong: the L2 penalty in the Deep Learning Specialization's convention, lambd/(2m)*||w||^2."""
import numpy as np


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    n = X.shape[0]
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    loss = np.mean(softplus - y * z) + reg / (2 * n) * np.sum(w * w)
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    dw = (p - y) @ X / n + reg / n * w
    db = (p - y).sum() / n
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
