# expect: many_steps fail take the square root of the cache
# expect: cache_state pass
"""Wrong: divides by the accumulated squares, not by their square root."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["cache"] + dw ** 2
    next_w = w - config["learning_rate"] * dw / (config["cache"] + config["epsilon"])
    return next_w, config
