# expect: mask_independence fail one mask shared across the batch
# expect: mask_independence fail x may have any shape
"""Two mistakes (issue 12): one mask for the features, broadcast over the batch, and code that
only works for 2-D x. The crash on a 3-D x must not hide the shared mask."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    n, d = x.shape
    mask = rng.random(d) >= p
    return x * mask / (1 - p), (np.broadcast_to(mask, x.shape), p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
