# expect: full
"""Correct: CS231n style, the optimizer state is updated in place (allowed for config)."""
import numpy as np


def adagrad_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))

    config["cache"] += dw * dw
    denom = np.sqrt(config["cache"]) + config["epsilon"]
    next_w = w - np.divide(config["learning_rate"] * dw, denom)
    return next_w, config
