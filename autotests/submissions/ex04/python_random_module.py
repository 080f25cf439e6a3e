# expect: global_rng_untouched fail the `random` module
# expect: rng_reproducible fail does not come only from rng
"""Wrong: the standard library's random module, one unit at a time."""
import random

import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    flat = [random.random() >= p for _ in range(x.size)]
    mask = np.array(flat, dtype=bool).reshape(x.shape)
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
