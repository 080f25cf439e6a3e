# expect: global_rng_untouched fail np.random
# expect: rng_reproducible fail does not come only from rng
# expect: keep_fraction pass
"""Wrong: draws the mask from the global numpy generator, ignoring rng."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    mask = np.random.rand(*x.shape) >= p
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
