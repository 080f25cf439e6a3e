# expect: inputs_untouched fail changed its inputs `w` and `y` in place
# expect: loss_values pass
"""Wrong: logistic_loss computes the right values but writes into two of its inputs: p - y goes
into y (np.subtract(..., out=y)) and the penalty squares w through an alias (w_sq **= 2). Both
must be named, not only the first."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    data = np.mean(np.logaddexp(0.0, z) - y * z)
    err = np.subtract(p, y, out=y)
    dw = X.T @ err / len(err) + reg * w
    w_sq = w
    w_sq **= 2
    return float(data + 0.5 * reg * np.sum(w_sq)), dw, float(np.mean(err))


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w, b, losses = np.zeros(X.shape[1]), 0.0, []
    for _ in range(num_iters):
        z = X @ w + b
        losses.append(float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * w @ w))
        err = np.exp(-np.logaddexp(0.0, -z)) - y
        w, b = w - learning_rate * (X.T @ err / len(y) + reg * w), b - learning_rate * np.mean(err)
    return w, b, losses
