# expect: full
"""Correct: the mask from rng.binomial, the cache a dict."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not train:
        return x.copy(), {"train": False}
    keep = 1.0 - p
    mask = rng.binomial(1, keep, size=x.shape)
    out = x * mask / keep
    return out, {"train": True, "mask": mask, "keep": keep}


def dropout_backward(dout, cache):
    if not cache["train"]:
        return dout.copy()
    return dout * cache["mask"] / cache["keep"]
