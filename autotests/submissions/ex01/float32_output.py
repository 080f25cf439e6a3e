# expect: sigmoid_values fail dtype float32
# expect: signature fail dtype float32
import numpy as np


def sigmoid(z):
    z = z.astype(np.float32)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)
