# expect: mask_independence fail units of one sample
# expect: inverted_scaling pass
"""Wrong: drops whole samples (one random number per row, broadcast over its units)."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    mask = rng.random((x.shape[0],) + (1,) * (x.ndim - 1)) >= p
    mask = np.broadcast_to(mask, x.shape)
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
