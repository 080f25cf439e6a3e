# expect: train_trajectory fail as if recorded only when i % 100 == 0
# expect: loss_values pass
"""Wrong: the Deep Learning Specialization's optimize loop, keeping the cost only every 100
iterations (for the learning-curve plot); the contract wants one loss per iteration."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    m = X.shape[0]
    A = np.exp(-np.logaddexp(0.0, -z))
    cost = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * np.dot(w, w)
    return np.squeeze(cost), X.T @ (A - y) / m + reg * w, np.squeeze(np.sum(A - y) / m)


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w, b = np.zeros(X.shape[1]), 0.0
    costs = []
    for i in range(num_iters):
        cost, dw, db = logistic_loss(w, b, X, y, reg)
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return w, b, costs
