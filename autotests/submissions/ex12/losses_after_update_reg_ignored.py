# expect: train_trajectory fail recorded after each update: record them before; reg is ignored
# expect: loss_values pass
"""Wrong: train_logistic leaves reg out of its calls (the default 0 is used) and records the
loss after each update, as the Machine Learning Specialization's gradient_descent does. Its
first loss is not log 2, yet it does start from zeros: the hint must not say otherwise."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * w @ w
    return float(loss), X.T @ (p - y) / len(y) + reg * w, float(np.mean(p - y))


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w, b, J_history = np.zeros(X.shape[1]), 0.0, []
    for _ in range(num_iters):
        _, dw, db = logistic_loss(w, b, X, y)
        w, b = w - learning_rate * dw, b - learning_rate * db
        J_history.append(logistic_loss(w, b, X, y)[0])
    return w, b, J_history
