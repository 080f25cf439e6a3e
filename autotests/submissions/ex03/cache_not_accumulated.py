# expect: many_steps fail does not carry over between calls
# expect: cache_state fail holds only the last dw**2
# expect: defaults pass
"""Wrong: the cache is overwritten with the current squared gradient (RMSprop without decay)."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config["cache"] = dw ** 2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return next_w, config
