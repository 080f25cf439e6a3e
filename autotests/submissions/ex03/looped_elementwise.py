# expect: performance fail a Python loop over the elements
# expect: op_count fail loops in Python over the elements of w
# Correct Adagrad, but the update is applied one element at a time.
import math

import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    cache = np.array(config.get("cache", np.zeros_like(w)), dtype=np.float64, copy=True)
    next_w = np.empty_like(w)
    lr, eps = config["learning_rate"], config["epsilon"]
    for i in np.ndindex(w.shape):
        cache[i] += dw[i] * dw[i]
        next_w[i] = w[i] - lr * dw[i] / (math.sqrt(cache[i]) + eps)
    config["cache"] = cache
    return next_w, config
