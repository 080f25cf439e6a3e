# source: https://github.com/Savyaraj/ML_course/blob/5bdc80f5c8ee2de086108c2d1cf6317cfe500cd4/projects/project1/scripts/reg_logistic_regression.py
# verdict: logistic_loss wrong: the negative log-likelihood and its gradient are sums over the N examples, not means; the penalty is lambda*||w||^2 with gradient 2*lambda*w (not 0.5*reg*||w||^2), and with the bias in tx it is penalised too; np.log(sigmoid) overflows / takes log(0) for large |z|
# verdict: train_logistic wrong: the same summed, differently penalised loss (each step is their learning_by_penalized_gradient)
# expect: loss_values fail sum over the N examples
# expect: gradient_numeric fail 2*reg*b in db
# expect: train_trajectory fail N*log 2
# expect: stability fail
"""EPFL CS-433 (Machine Learning, 2019) project 1, penalized logistic regression as in the
course's lab 5: tx carries the bias as a column, the loss is the summed negative
log-likelihood plus lambda·wᵀw (so the bias weight is penalised as well), the gradient the
summed tx.T·(σ(tx·w) − y) plus 2·lambda·w. learning_by_penalized_gradient does one step and
returns the loss before it.

Wrapper (no arithmetic): the bias is their column of ones, appended last: tx = [X, 1] and the
weights [w, b], so dw and db are the first D entries and the last of their gradient.
logistic_loss calls penalized_logistic_regression(y, tx, [w, b], lambda_=reg).
train_logistic runs their learning_by_penalized_gradient num_iters times from zeros (the
lab's notebook loop) and keeps the loss each step returns.
"""
import numpy as np


# ---- copied verbatim from Savyaraj/ML_course projects/project1/scripts/reg_logistic_regression.py (commit 5bdc80f5c8) ----

def sigmoid(t):
    """apply the sigmoid function on t."""
    return 1.0 / (1 + np.exp(-t))

def calculate_loss(y, tx, w):
    """compute the loss: negative log likelihood."""
    return np.squeeze(-(np.dot(y.transpose(), np.log(sigmoid(np.dot(tx, w)))) + np.dot((1 - y).transpose(), np.log(1 - sigmoid(np.dot(tx, w))))))

def calculate_gradient(y, tx, w):
    """compute the gradient of loss."""
    return np.dot(tx.transpose(), sigmoid(np.dot(tx, w)) - y)

def penalized_logistic_regression(y, tx, w, lambda_):
    """return the loss, gradient."""
    # num_samples = y.shape[0]
    loss = calculate_loss(y, tx, w) + lambda_ * np.squeeze(np.dot(w.transpose(), w))
    gradient = calculate_gradient(y, tx, w) + 2 * lambda_ * w
    return loss, gradient

def learning_by_penalized_gradient(y, tx, w, gamma, lambda_):
    """
    Do one step of gradient descent, using the penalized logistic regression.
    Return the loss and updated w.
    """
    loss, gradient = penalized_logistic_regression(y, tx, w, lambda_)
    w = w - gamma * gradient
    return w, loss


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----

def logistic_loss(w, b, X, y, reg=0.0):
    """tx = [X, 1], weights [w, b]; their penalized_logistic_regression with lambda_ = reg."""
    tx = np.column_stack([X, np.ones(X.shape[0])])
    loss, gradient = penalized_logistic_regression(y, tx, np.append(w, b), reg)
    return loss, gradient[:-1], gradient[-1]


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    """num_iters calls of their learning_by_penalized_gradient from zeros, keeping each loss."""
    tx = np.column_stack([X, np.ones(X.shape[0])])
    w = np.zeros(tx.shape[1])
    losses = []
    for _ in range(num_iters):
        w, loss = learning_by_penalized_gradient(y, tx, w, learning_rate, reg)
        losses.append(loss)
    return w[:-1], w[-1], losses
