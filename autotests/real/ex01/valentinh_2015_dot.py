# source: https://github.com/ValentinH/Neural-Network-Exercice-with-Python/blob/8feb8910522a8936dabb3df74e55a43b1a4c55a2/sigmoid.py
# verdict: sigmoid wrong: 1/(1+np.exp(-z)) overflows (RuntimeWarning) for z < -709
# verdict: sigmoid_grad wrong: np.dot(s, 1 - s) is a dot product (a scalar, or a shape error), not the elementwise s * (1 - s)
"""A student's neural-network exercise (2015, the Coursera ML course's ex4 in Python), first
version of sigmoid.py: the gradient multiplies with np.dot, a matrix product, where the
elementwise product is meant (the author fixed it two commits later).
"""
import numpy as np


# ---- copied verbatim from ValentinH/Neural-Network-Exercice-with-Python sigmoid.py (commit 8feb891052) ----

def sigmoid(z):
    return np.true_divide(1.0, 1.0 + np.exp(-z))


def sigmoid_gradient(z):
    return np.dot(sigmoid(z), 1.0 - sigmoid(z))


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
def sigmoid_grad(z):
    """The contract calls it sigmoid_grad; theirs is sigmoid_gradient."""
    return sigmoid_gradient(z)
