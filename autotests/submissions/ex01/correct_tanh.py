# expect: full
import numpy as np


def sigmoid(z):
    # sigma(z) = (1 + tanh(z / 2)) / 2 never overflows
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s - s * s
