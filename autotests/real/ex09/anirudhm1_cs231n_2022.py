# source: https://github.com/AnirudhM1/CS231n-2022-Solutions/blob/d2d76e34d86c3e3f3d113f90fd41a6493fa61ec5/assignment2/cs231n/optim.py
# verdict: sgd_momentum_update correct
# verdict: rmsprop_update correct
# verdict: adam_update correct
"""CS231n 2022 update rules with named locals (first_moment, second_moment, np.square); Adam
increments its local t before the bias correction and stores m, v, t back. The wrapper only
renames the author's sgd_momentum / rmsprop / adam to the contract's names; docstrings and TODO
banners left out.
"""
import numpy as np


# ---- copied verbatim from AnirudhM1/CS231n-2022-Solutions assignment2/cs231n/optim.py (commit d2d76e34d8) ----

def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))

    next_w = None

    momentum = config['momentum']
    lr = config['learning_rate']

    v = momentum * v - lr * dw
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

    decay_rate = config['decay_rate']
    lr = config['learning_rate']
    eps = config['epsilon']
    second_moment = config['cache']

    second_moment = decay_rate * second_moment + (1 - decay_rate) * np.square(dw)
    config['cache'] = second_moment
    next_w = w - lr * dw / (np.sqrt(second_moment) + eps)

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

    beta1 = config['beta1']
    beta2 = config['beta2']
    lr = config['learning_rate']
    eps = config['epsilon']
    first_moment = config['m']
    second_moment = config['v']
    t = config['t']

    t += 1 # Updating the time step

    first_moment = beta1 * first_moment + (1 - beta1) * dw
    second_moment = beta2 * second_moment + (1 - beta2) * np.square(dw)

    first_moment_unbiased = first_moment / (1 - beta1 ** t)
    second_moment_unbiased = second_moment / (1 - beta2 ** t)

    next_w = w - lr * first_moment_unbiased / (np.sqrt(second_moment_unbiased) + eps)

    config['m'] = first_moment
    config['v'] = second_moment
    config['t'] = t 

    return next_w, config


# -- wrapper (not the author's): the contract's names for the author's functions ---------------
def sgd_momentum_update(w, dw, config=None):
    return sgd_momentum(w, dw, config)


def rmsprop_update(w, dw, config=None):
    return rmsprop(w, dw, config)


def adam_update(w, dw, config=None):
    return adam(w, dw, config)
