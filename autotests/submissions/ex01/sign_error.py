# expect: sigmoid_values fail exp(-z), not exp(z)
import numpy as np


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z < 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)
