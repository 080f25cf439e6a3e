# expect: defaults fail has no 'cache'
# expect: many_steps fail does not carry over between calls
# expect: cache_state fail no 'cache'
"""Wrong: the new cache is a local variable that never makes it back into config."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    cache = config.get("cache", np.zeros_like(w)) + dw ** 2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config
