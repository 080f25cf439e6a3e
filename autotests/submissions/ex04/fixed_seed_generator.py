# expect: rng_reproducible fail does not depend on rng
# expect: mask_independence fail consecutive calls
# expect: global_rng_untouched pass
"""Wrong: makes its own generator with a fixed seed, so every call draws the same mask."""
import numpy as np


def dropout_forward(x, p, train, rng):
    rng = np.random.default_rng(0)
    if not train:
        return x.copy(), (None, p, train)
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
