# expect: sigmoid_values pass
# expect: stability pass
# expect: performance fail too slow
# expect: op_count fail loops in Python over the elements of z
# Correct and stable, but one Python-level math.exp per element instead of array operations.
import math

import numpy as np


def sigmoid(z):
    out = np.empty_like(z)
    flat_in, flat_out = z.reshape(-1), out.reshape(-1)
    for i in range(flat_in.size):
        v = flat_in[i]
        if v >= 0:
            flat_out[i] = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)
            flat_out[i] = e / (1.0 + e)
    return out


def sigmoid_grad(z):
    s = sigmoid(z)
    g = np.empty_like(s)
    for i in np.ndindex(s.shape):
        g[i] = s[i] * (1.0 - s[i])
    return g
