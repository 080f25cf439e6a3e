# expect: mask_independence fail the same mask on every call
# expect: rng_reproducible fail
"""Wrong: draws the mask once per shape and reuses it on every later call."""
import numpy as np

_MASKS = {}


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), (None, p, train)
    key = (x.shape, p)
    if key not in _MASKS:
        _MASKS[key] = rng.random(x.shape) >= p
    mask = _MASKS[key]
    return x * mask / (1 - p), (mask, p, train)


def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout.copy()
