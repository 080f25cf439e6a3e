# expect: sigmoid_grad_values fail apply the sigmoid first
# expect: sigmoid_grad_numeric fail central differences of your sigmoid
# expect: sigmoid_values pass
import numpy as np


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    return z * (1 - z)
