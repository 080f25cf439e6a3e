# source: https://github.com/AgainstEntropy/CS231n-assignment2021/blob/4004403d6f47caf8d06366525d5414da17a94216/assignment2/cs231n/optim.py
# verdict: sgd_momentum_update correct
# verdict: rmsprop_update correct
# verdict: adam_update correct
"""CS231n 2021 update rules (double-quoted keys): local copies of the state, stored back after
the step; Adam computes t = config["t"] + 1 first. The wrapper only renames the author's
sgd_momentum / rmsprop / adam to the contract's names; docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from AgainstEntropy/CS231n-assignment2021 assignment2/cs231n/optim.py (commit 4004403d6f) ----

def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))

    next_w = None

    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v

    config["velocity"] = v

    return next_w, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))

    next_w = None

    cache = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * (dw ** 2)
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])

    config["cache"] = cache

    return next_w, config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    next_w = None

    t = config["t"] + 1
    m = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    v = config["beta2"] * config["v"] + (1 - config["beta2"]) * (dw ** 2)
    mt = m / (1 - config["beta1"] ** t)
    vt = v / (1 - config["beta2"] ** t)
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])

    config["m"], config["v"], config["t"] = m, v, t

    return next_w, config


# -- wrapper (not the author's): the contract's names for the author's functions ---------------
def sgd_momentum_update(w, dw, config=None):
    return sgd_momentum(w, dw, config)


def rmsprop_update(w, dw, config=None):
    return rmsprop(w, dw, config)


def adam_update(w, dw, config=None):
    return adam(w, dw, config)
