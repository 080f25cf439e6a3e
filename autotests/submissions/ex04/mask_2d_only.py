# expect: inverted_scaling fail x may have any shape
# expect: mask_independence fail x may have any shape
# expect: keep_fraction pass
# expect: backward pass
"""Wrong (issue 12): the mask is drawn for (N, D) inputs only, so a 3-D or 4-D x crashes. The
message says that x may have any shape."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    n, d = x.shape
    mask = rng.random((n, d)) >= p
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
