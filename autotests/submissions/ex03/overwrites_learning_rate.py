# expect: config_honoured fail learning_rate in config is ignored
# expect: many_steps fail learning_rate in config is ignored
# expect: defaults pass
"""Wrong: assigns the default learning rate instead of filling it in only when missing."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config["learning_rate"] = 1e-2
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["cache"] + dw ** 2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return next_w, config
