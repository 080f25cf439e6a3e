# expect: inverted_scaling fail the kept units are unscaled
# expect: keep_fraction pass
# expect: backward fail applies the mask but not the 1 / (1 - p) scale
"""Wrong: forgets the 1/(1-p) of inverted dropout in both passes. The backward agrees with the
forward, and is wrong all the same: it is judged against the specification (issue 12)."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) >= p
    return x * mask, mask


def dropout_backward(dout, cache):
    return dout.copy() if cache is None else dout * cache
