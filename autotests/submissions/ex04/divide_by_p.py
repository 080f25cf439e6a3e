# expect: inverted_scaling fail divide by p, the drop probability
# expect: test_mode fail division by zero
"""Wrong: divides the survivors by p instead of by the keep probability 1 - p."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    mask = rng.random(x.shape) >= p
    return x * mask / p, (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / p if train else dout.copy()
