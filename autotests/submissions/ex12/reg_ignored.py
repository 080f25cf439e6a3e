# expect: loss_values fail reg is ignored: the loss lacks 0.5*reg*||w||^2 and dw lacks reg*w
# expect: gradient_numeric fail reg is ignored
# expect: default_reg pass
"""Wrong: accepts reg and never uses it (as a Deep Learning Specialization propagate wrapped to
the contract would), stable otherwise."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    m = X.shape[0]
    cost = np.sum(np.logaddexp(0.0, z) - y * z) / m
    A = np.exp(-np.logaddexp(0.0, -z))
    dw = X.T @ (A - y) / m
    db = np.sum(A - y) / m
    return float(cost), dw, float(db)


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w = np.zeros(X.shape[1])
    b = 0.0
    costs = []
    for _ in range(num_iters):
        cost, dw, db = logistic_loss(w, b, X, y, reg)
        costs.append(cost)
        w = w - learning_rate * dw
        b = b - learning_rate * db
    return w, b, costs
