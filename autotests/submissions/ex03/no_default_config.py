# expect: defaults error missing 1 required positional argument
# expect: config_honoured pass
"""Wrong: config has no default, so adagrad_update(w, dw) fails (and None is not handled)."""
import numpy as np


def adagrad_update(w, dw, config):
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["cache"] + dw ** 2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return next_w, config
