# expect: performance fail a Python loop over the elements
# expect: op_count fail loops in Python over the elements of x
# Correct inverted dropout, but one random number and one multiplication per element.
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, False)
    out = np.empty_like(x)
    mask = np.empty(x.shape, dtype=bool)
    for i in np.ndindex(x.shape):
        keep = rng.random() >= p
        mask[i] = keep
        out[i] = x[i] / (1.0 - p) if keep else 0.0
    return out, (mask, p, True)


def dropout_backward(dout, cache):
    mask, p, train = cache
    if not train:
        return dout.copy()
    dx = np.zeros_like(dout)
    for i in np.ndindex(dout.shape):
        if mask[i]:
            dx[i] = dout[i] / (1.0 - p)
    return dx
