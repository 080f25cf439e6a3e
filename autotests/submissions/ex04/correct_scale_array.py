# expect: full
"""Correct: keeps the whole elementwise factor mask / (1 - p) as the cache."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if train:
        factor = (rng.uniform(size=x.shape) < 1.0 - p) / (1.0 - p)
    else:
        factor = np.ones_like(x)
    return x * factor, factor


def dropout_backward(dout, cache):
    return dout * cache
