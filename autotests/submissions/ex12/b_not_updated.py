# expect: train_trajectory fail b is never updated
# expect: loss_values pass
"""Wrong: the training loop updates w only; b stays 0 (a forgotten line)."""
import numpy as np


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    n = X.shape[0]
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    loss = np.mean(softplus - y * z) + 0.5 * reg * np.sum(w * w)
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    dw = (p - y) @ X / n + reg * w
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
        # b stays at its initial 0
    return w, b, losses
