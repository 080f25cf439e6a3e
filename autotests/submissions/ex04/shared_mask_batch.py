# expect: mask_independence fail one mask shared across the batch
# expect: inverted_scaling pass
"""Wrong: one mask for the features, broadcast over every sample of the batch."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    mask = rng.random(x.shape[1:]) >= p
    out = x * mask / (1 - p)
    return out, (np.broadcast_to(mask, x.shape), p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
