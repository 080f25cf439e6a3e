# expect: stability fail caps each example's loss at -log(eps)
# expect: loss_values pass
"""Wrong: a finite but capped loss, p clipped to [1e-15, 1 - 1e-15] before the logs (the
sigmoid itself is stable, so no warning): exact for moderate z, off for |z| > 35."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    q = np.clip(p, 1e-15, 1 - 1e-15)
    loss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)) + 0.5 * reg * w @ w
    return float(loss), X.T @ (p - y) / len(y) + reg * w, float(np.mean(p - y))


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w, b, losses = np.zeros(X.shape[1]), 0.0, []
    for _ in range(num_iters):
        loss, dw, db = logistic_loss(w, b, X, y, reg)
        losses.append(loss)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b, losses
