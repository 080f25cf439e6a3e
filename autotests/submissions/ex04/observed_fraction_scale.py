# expect: inverted_scaling fail fraction of units actually kept
# expect: keep_fraction pass
"""Wrong: normalises by the fraction actually kept instead of by 1 - p."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, 1.0, train)
    mask = rng.random(x.shape) >= p
    scale = mask.mean()
    return x * mask / scale, (mask, scale, train)


def dropout_backward(dout, cache):
    mask, scale, train = cache
    return dout * mask / scale if train else dout.copy()
