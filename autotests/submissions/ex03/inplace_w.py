# expect: inputs_untouched fail changed its input `w` in place
# expect: many_steps pass
"""Wrong: updates the caller's weights in place (w -= ...) and returns them."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["cache"] + dw ** 2
    w -= config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return w, config
