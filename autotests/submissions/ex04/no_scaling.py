# expect: inverted_scaling fail the kept units are unscaled
# expect: keep_fraction pass
# expect: backward pass
"""Wrong: forgets the 1/(1-p) of inverted dropout (forward and backward agree, though)."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) >= p
    return x * mask, mask


def dropout_backward(dout, cache):
    return dout.copy() if cache is None else dout * cache
