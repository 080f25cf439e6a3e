# expect: backward fail not the 1 / (1 - p) scale
# expect: inverted_scaling pass
"""Wrong: backward applies the mask but forgets the scale."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask if train else dout.copy()
