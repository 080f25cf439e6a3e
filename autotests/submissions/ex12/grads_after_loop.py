# expect: train_trajectory fail crashed on num_iters=0
# expect: loss_values pass
"""Wrong for num_iters=0 only: the Deep Learning Specialization's optimize returns the last
gradients after the loop, so with no iteration `dw` is unbound (UnboundLocalError); the contract
asks for (zeros(D), 0, []) there."""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    z = X @ w + b
    A = np.exp(-np.logaddexp(0.0, -z))
    cost = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * np.dot(w, w)
    return float(cost), X.T @ (A - y) / len(y) + reg * w, float(np.mean(A - y))


def optimize(w, b, X, y, num_iterations, learning_rate, reg):
    costs = []
    for i in range(num_iterations):
        cost, dw, db = logistic_loss(w, b, X, y, reg)
        costs.append(cost)
        w = w - learning_rate * dw
        b = b - learning_rate * db
    grads = {"dw": dw, "db": db}
    return {"w": w, "b": b}, grads, costs


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    params, _, costs = optimize(np.zeros(X.shape[1]), 0.0, X, y, num_iters, learning_rate, reg)
    return params["w"], params["b"], costs
