# expect: inputs_untouched fail changed its input `z` in place
# expect: sigmoid_values pass
import numpy as np


def sigmoid(z):
    pos = z >= 0
    np.negative(np.abs(z), out=z)
    np.exp(z, out=z)
    return np.where(pos, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_grad(z):
    s = sigmoid(z.copy())
    return s * (1 - s)
