# source: https://github.com/Silva-6/stanford-machine_learning/blob/ae87182e04c0923b4b8a969a09050041964a3e44/00-supervised_learning/practice_lab/sigmoid.py
# source: https://github.com/Silva-6/stanford-machine_learning/blob/ae87182e04c0923b4b8a969a09050041964a3e44/00-supervised_learning/practice_lab/compute_cost_logistic.py
# source: https://github.com/Silva-6/stanford-machine_learning/blob/ae87182e04c0923b4b8a969a09050041964a3e44/00-supervised_learning/practice_lab/compute_gradient_logistic.py
# source: https://github.com/Silva-6/stanford-machine_learning/blob/ae87182e04c0923b4b8a969a09050041964a3e44/00-supervised_learning/practice_lab/regularized_cost.py
# source: https://github.com/Silva-6/stanford-machine_learning/blob/ae87182e04c0923b4b8a969a09050041964a3e44/00-supervised_learning/practice_lab/regularized_gradient.py
# source: https://github.com/Silva-6/stanford-machine_learning/blob/ae87182e04c0923b4b8a969a09050041964a3e44/00-supervised_learning/practice_lab/gradient_descent_logistic.py
# verdict: logistic_loss wrong: the penalty is lambda/(2m)*||w||^2 with gradient lambda/m*w (the course's convention, divided by m), and np.log(sigmoid(z)) with 1/(1+np.exp(-z)) overflows / takes log(0) for large |z|; loops over examples and features
# verdict: train_logistic wrong: J_history holds the cost AFTER each update (the lab's provided loop), and the penalty is divided by m
# expect: stability fail overflow
# expect: default_reg pass
# expect: loss_values fail divided by N
# expect: train_trajectory fail after each update
"""Machine Learning Specialization (Stanford / DeepLearning.AI 2022), course 1 week 3 practice
lab "Logistic Regression", split by the student into one module per graded function. Everything
loops in Python: compute_cost over the m examples, compute_gradient over examples and features,
compute_cost_reg / compute_gradient_reg over the features. The course regularises with
lambda/(2m)·Σw_j² (gradient lambda/m·w_j); the lab's gradient_descent (given code) appends the
cost computed after each update.

Wrapper (no arithmetic): the modules import numpy, math and sigmoid through the notebook's
`from pkgs import *`; those imports are written out here. logistic_loss calls their
compute_cost_reg and compute_gradient_reg with lambda_ = reg (their gradient returns
(dj_db, dj_dw), reordered). train_logistic calls their gradient_descent from w_in = zeros(D),
b_in = 0 (the contract's start; the lab starts elsewhere) with their cost and gradient, and
returns their J_history; its progress prints are silenced by redirecting stdout.
"""
import contextlib
import io
import math

import numpy as np


# ---- copied verbatim from Silva-6/stanford-machine_learning practice_lab/sigmoid.py (commit ae87182e04) ----

def sigmoid(z):
    """
    Compute the sigmoid of z

    Args:
        z (ndarray): A scalar, numpy array of any size.

    Returns:
        g (ndarray): sigmoid(z), with the same shape as z

    """

    ### START CODE HERE ###
    g = 1 / (1 + np.exp(-z))
    ### END SOLUTION ###

    return g


# ---- copied verbatim from practice_lab/compute_cost_logistic.py (commit ae87182e04), docstring shortened ----

def compute_cost(X, y, w, b, *argv):
    """
    Computes the cost over all examples
    """

    m, n = X.shape

    ### START CODE HERE ###

    m = X.shape[0]
    loss_sum = 0
    for i in range(m):
        z_i = np.dot(X[i], w) + b
        f_wb_i = sigmoid(z_i)
        loss_sum += -y[i] * np.log(f_wb_i) - (1 - y[i]) * np.log(1 - f_wb_i)

    total_cost = loss_sum / m

    ### END CODE HERE ###

    return total_cost


# ---- copied verbatim from practice_lab/compute_gradient_logistic.py (commit ae87182e04), docstring shortened ----

def compute_gradient(X, y, w, b, *argv):
    """
    Computes the gradient for logistic regression
    """
    m, n = X.shape
    dj_dw = np.zeros(w.shape)
    dj_db = 0.

    ### START CODE HERE ###
    for i in range(m):
        z_i = np.dot(X[i], w) + b
        f_wb = sigmoid(z_i)

        dj_db_i = f_wb - y[i]
        dj_db += dj_db_i

        for j in range(n):
            dj_dw[j] = dj_dw[j] + (f_wb - y[i]) * X[i][j]

    dj_dw = dj_dw / m
    dj_db = dj_db / m
    ### END CODE HERE ###

    return dj_db, dj_dw


# ---- copied verbatim from practice_lab/regularized_cost.py (commit ae87182e04), docstring shortened ----

def compute_cost_reg(X, y, w, b, lambda_=1):
    """
    Computes the cost over all examples
    """

    m, n = X.shape

    # Calls the compute_cost function that you implemented above
    cost_without_reg = compute_cost(X, y, w, b)

    # You need to calculate this value
    reg_cost = 0.

    ### START CODE HERE ###

    for j in range(n):
        reg_cost += (w[j] ** 2)
    reg_cost = (lambda_ / (2 * m)) * reg_cost

    ### END CODE HERE ###

    # Add the regularization cost to get the total cost
    total_cost = cost_without_reg + reg_cost

    return total_cost


# ---- copied verbatim from practice_lab/regularized_gradient.py (commit ae87182e04), docstring shortened ----

def compute_gradient_reg(X, y, w, b, lambda_=1):
    """
    Computes the gradient for logistic regression with regularization
    """
    m, n = X.shape

    dj_db, dj_dw = compute_gradient(X, y, w, b)

    ### START CODE HERE ###
    for j in range(n):
        dj_dw_j_reg = (lambda_ / m) * w[j]
        dj_dw[j] = dj_dw[j] + dj_dw_j_reg
    ### END CODE HERE ###

    return dj_db, dj_dw


# ---- copied verbatim from practice_lab/gradient_descent_logistic.py (commit ae87182e04), docstring shortened ----

def gradient_descent(X, y, w_in, b_in, cost_function, gradient_function, alpha, num_iters, lambda_):
    """
    Performs batch gradient descent to learn theta. Updates theta by taking
    num_iters gradient steps with learning rate alpha
    """

    # number of training examples
    m = len(X)

    # An array to store cost J and w's at each iteration primarily for graphing later
    J_history = []
    w_history = []

    for i in range(num_iters):

        # Calculate the gradient and update the parameters
        dj_db, dj_dw = gradient_function(X, y, w_in, b_in, lambda_)

        # Update Parameters using w, b, alpha and gradient
        w_in = w_in - alpha * dj_dw
        b_in = b_in - alpha * dj_db

        # Save cost J at each iteration
        if i < 100000:  # prevent resource exhaustion
            cost = cost_function(X, y, w_in, b_in, lambda_)
            J_history.append(cost)

        # Print cost every at intervals 10 times or as many iterations if < 10
        if i % math.ceil(num_iters / 10) == 0 or i == (num_iters - 1):
            w_history.append(w_in)
            print(f"Iteration {i:4}: Cost {float(J_history[-1]):8.2f}   ")

    return w_in, b_in, J_history, w_history  # return w and J,w history for graphing


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----

def logistic_loss(w, b, X, y, reg=0.0):
    """Their compute_cost_reg and compute_gradient_reg with lambda_ = reg."""
    cost = compute_cost_reg(X, y, w, b, reg)
    dj_db, dj_dw = compute_gradient_reg(X, y, w, b, reg)
    return cost, dj_dw, dj_db


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    """Their gradient_descent from zeros with their regularised cost and gradient."""
    with contextlib.redirect_stdout(io.StringIO()):
        w, b, J_history, _ = gradient_descent(X, y, np.zeros(X.shape[1]), 0., compute_cost_reg,
                                              compute_gradient_reg, learning_rate, num_iters, reg)
    return w, b, J_history
