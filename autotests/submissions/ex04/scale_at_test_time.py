# expect: test_mode fail non-inverted dropout
# expect: inverted_scaling fail unscaled
"""Wrong: the original (non-inverted) dropout, scaling by 1 - p at test time."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if train:
        mask = rng.random(x.shape) >= p
        return x * mask, (mask, True)
    return x * (1 - p), (None, False)


def dropout_backward(dout, cache):
    mask, train = cache
    return dout * mask if train else dout.copy()
