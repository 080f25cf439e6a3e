# expect: inputs_untouched fail changed its input `x` in place
# expect: keep_fraction pass
"""Wrong: zeroes and rescales the caller's x in place."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x, (None, p, train)
    mask = rng.random(x.shape) >= p
    x[~mask] = 0.0
    x /= 1 - p
    return x, (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout
