# expect: test_mode fail the output is multiplied by p
# expect: inverted_scaling fail you multiply by p
# expect: keep_fraction pass
"""Wrong (issue 12): the mask is right but the survivors are multiplied by p. At p = 0 every
output is 0, which looks like a swapped keep/drop probability; the hint must not say so (a second
call shows the mask keeps 1 - p of the units)."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    mask = rng.random(x.shape) >= p
    return x * mask * p, (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask * p if train else dout.copy()
