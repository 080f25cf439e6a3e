# expect: full
"""Correct: a namedtuple cache and a boolean mask multiplied by a precomputed scale."""
from collections import namedtuple

import numpy as np

DropoutCache = namedtuple("DropoutCache", "mask scale")


def dropout_forward(x, p, train, rng):
    if not train:
        return np.array(x, copy=True), DropoutCache(mask=None, scale=1.0)
    scale = 1.0 / (1.0 - p)
    mask = rng.random(size=x.shape) > p
    return np.where(mask, x * scale, 0.0), DropoutCache(mask=mask, scale=scale)


def dropout_backward(dout, cache):
    if cache.mask is None:
        return dout.copy()
    return np.where(cache.mask, dout * cache.scale, 0.0)
