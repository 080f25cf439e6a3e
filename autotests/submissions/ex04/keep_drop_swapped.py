# expect: keep_fraction fail keep and drop probability are swapped
# expect: test_mode fail swapped
"""Wrong: keeps a unit with probability p (p is the DROP probability)."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    mask = rng.random(x.shape) < p
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
