# source: https://github.com/AKSoo/CS231n-2017/blob/1cf6afb9ce19229e2a57b9e7ae3f8faba558fd78/assignment2/cs231n/optim.py
# verdict: sgd_momentum_update correct
# verdict: rmsprop_update correct
# verdict: adam_update wrong: the default t is 1 (config.setdefault('t', 1)), not 0, and t is incremented before use, so without a given t the first step's bias correction uses t = 2 and config['t'] is 2 after one step; with t given it is right
# expect: defaults fail Hint: t starts at 1 when config has no 't'
# expect: state fail config['t'] is 2 after step 1
# expect: sgd_momentum_many_steps pass
# expect: rmsprop_many_steps pass
"""CS231n 2017 update rules: momentum and RMSProp as the contract has them. Adam keeps the 2017
skeleton's config.setdefault('t', 1) and also increments t before the bias correction (as the
later skeletons ask, with t starting at 0), so a fresh Adam counts its first step as t = 2.
The wrapper only renames the author's sgd_momentum / rmsprop / adam (whose arrays are named
x, dx in two of them) to the contract's names; docstrings left out.
"""
import numpy as np


# ---- copied verbatim from AKSoo/CS231n-2017 assignment2/cs231n/optim.py (commit 1cf6afb9ce) ----

def sgd_momentum(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    v = config.get('velocity', np.zeros_like(w))

    lr, rho = config['learning_rate'], config['momentum']
    v = rho * v - lr * dw
    next_w = w + v

    config['velocity'] = v
    return next_w, config


def rmsprop(x, dx, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('cache', np.zeros_like(x))

    lr, beta = config['learning_rate'], config['decay_rate']
    eps, cache = config['epsilon'], config['cache']

    cache = beta * cache + (1 - beta) * dx*dx
    next_x = x - lr * dx / (np.sqrt(cache) + eps)

    config['cache'] = cache
    return next_x, config


def adam(x, dx, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('m', np.zeros_like(x))
    config.setdefault('v', np.zeros_like(x))
    config.setdefault('t', 1)

    lr, eps = config['learning_rate'], config['epsilon']
    beta1, beta2 = config['beta1'], config['beta2']
    m, v, t = config['m'], config['v'], config['t']

    t += 1
    m = beta1 * m + (1 - beta1) * dx
    v = beta2 * v + (1 - beta2) * dx*dx
    m_unbias = m / (1 - beta1**t)
    v_unbias = v / (1 - beta2**t)

    next_x = x - lr * m_unbias / (np.sqrt(v_unbias) + eps)

    config['m'], config['v'], config['t'] = m, v, t
    return next_x, config


# -- wrapper (not the author's): the contract's names for the author's functions ---------------
def sgd_momentum_update(w, dw, config=None):
    return sgd_momentum(w, dw, config)


def rmsprop_update(w, dw, config=None):
    return rmsprop(w, dw, config)


def adam_update(w, dw, config=None):
    return adam(w, dw, config)
