# expect: full
"""Correct: CS231n style, next_w computed first and the state arrays updated in place."""
import numpy as np


def sgd_momentum_update(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.setdefault("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    return w + v, config


def rmsprop_update(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    c = config.setdefault("cache", np.zeros_like(w))
    c *= config["decay_rate"]
    c += (1 - config["decay_rate"]) * dw * dw
    return w - config["learning_rate"] * dw / (np.sqrt(c) + config["epsilon"]), config


def adam_update(w, dw, config=None):
    config = {} if config is None else config
    for k, d in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(k, d)
    m = config.setdefault("m", np.zeros_like(w))
    v = config.setdefault("v", np.zeros_like(w))
    config["t"] = config.get("t", 0) + 1
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    m[...] = b1 * m + (1 - b1) * dw
    v[...] = b2 * v + (1 - b2) * dw ** 2
    step = config["learning_rate"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["epsilon"])
    return w - step, config
