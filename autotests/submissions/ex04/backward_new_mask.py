# expect: backward fail never draw a new mask in backward
# expect: global_rng_untouched fail dropout_backward
# expect: keep_fraction pass
"""Wrong: the backward pass draws a fresh mask instead of reusing the forward's."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (p, train)
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p), (p, train)


def dropout_backward(dout, cache):
    p, train = cache
    if not train:
        return dout.copy()
    mask = np.random.rand(*dout.shape) >= p
    return dout * mask / (1 - p)
