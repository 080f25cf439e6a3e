# expect: full
"""Correct variant in the Deep Learning Specialization's style: the cost goes through
``np.squeeze`` (a 0-d array, as the contract accepts), db through ``np.sum`` over a row vector
(also 0-d after squeeze), and the loop appends the 0-d cost to the list."""
import numpy as np


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def logistic_loss(w, b, X, y, reg=0.0):
    m = X.shape[0]
    A = _sigmoid(np.dot(w.T, X.T) + b).reshape(1, m)
    Z = (np.dot(X, w) + b).reshape(1, m)
    cost = np.sum(np.logaddexp(0.0, Z) - y * Z) / m + 0.5 * reg * np.dot(w, w)
    dw = np.dot(X.T, (A - y).T).reshape(-1) / m + reg * w
    db = np.squeeze(np.sum(A - y, axis=1, keepdims=True) / m)
    return np.squeeze(np.asarray(cost)), dw, db


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    w = np.zeros(X.shape[1])
    b = 0.0
    costs = []
    for i in range(num_iters):
        cost, dw, db = logistic_loss(w, b, X, y, reg)
        costs.append(cost)
        w = w - learning_rate * dw
        b = b - learning_rate * db
    return w, b, costs
