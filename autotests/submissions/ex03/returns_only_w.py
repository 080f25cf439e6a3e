# expect: signature fail must return a tuple (next_w, config)
# expect: many_steps fail must return a tuple
"""Wrong: forgets to return the config (the state is lost)."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["cache"] + dw ** 2
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
