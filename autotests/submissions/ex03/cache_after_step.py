# expect: many_steps fail update the cache first
# expect: cache_state pass
"""Wrong: takes the step with the old cache and only then adds dw**2."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    config["cache"] = config["cache"] + dw ** 2
    return next_w, config
