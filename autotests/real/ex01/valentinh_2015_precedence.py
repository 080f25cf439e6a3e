# source: https://github.com/ValentinH/Neural-Network-Exercice-with-Python/blob/7a0abca0b9f4e5c347185ef0fab04906c7187923/sigmoid.py
# verdict: sigmoid wrong: 1/(1+np.exp(-z)) overflows (RuntimeWarning) for z < -709
# verdict: sigmoid_grad wrong: sigmoid(z) * 1.0 - sigmoid(z) is s - s = 0 (operator precedence: the parentheses around 1.0 - s are missing)
"""The same student's next commit (2015): np.dot replaced by *, but without parentheses, so the
gradient is s * 1.0 - s, zero everywhere.
"""
import numpy as np


# ---- copied verbatim from ValentinH/Neural-Network-Exercice-with-Python sigmoid.py (commit 7a0abca0b9) ----

def sigmoid(z):
    return np.true_divide(1.0, 1.0 + np.exp(-z))


def sigmoid_gradient(z):
    return sigmoid(z) * 1.0 - sigmoid(z)


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
def sigmoid_grad(z):
    """The contract calls it sigmoid_grad; theirs is sigmoid_gradient."""
    return sigmoid_gradient(z)
