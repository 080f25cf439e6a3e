# source: https://github.com/0809zheng/CS231n-assignment2019/blob/bfc81c1989e71b4887a9bcd581b273d2faefb90d/assignment2/cs231n/optim.py
# verdict: sgd_momentum_update correct
# verdict: rmsprop_update correct
# verdict: adam_update correct
"""CS231n 2019 update rules: the skeleton's defaults (config.setdefault), momentum as
v = mu*v - lr*dw, RMSProp with eps after the root, Adam with t incremented before the bias
correction. The wrapper only renames the author's sgd_momentum / rmsprop / adam to the
contract's names; docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from 0809zheng/CS231n-assignment2019 assignment2/cs231n/optim.py (commit bfc81c1989) ----

def sgd_momentum(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    v = config.get('velocity', np.zeros_like(w))

    next_w = None

    v = config['momentum']*v - config['learning_rate']*dw
    next_w = w + v

    config['velocity'] = v

    return next_w, config


def rmsprop(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('cache', np.zeros_like(w))

    next_w = None

    cache = config['decay_rate']*config['cache'] + (1-config['decay_rate'])*dw*dw
    config['cache'] = cache
    next_w = w - config['learning_rate']*dw/(np.sqrt(cache)+config['epsilon'])

    return next_w, config


def adam(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('m', np.zeros_like(w))
    config.setdefault('v', np.zeros_like(w))
    config.setdefault('t', 0)

    next_w = None

    m = config['m']*config['beta1'] + dw*(1-config['beta1'])
    v = config['v']*config['beta2'] + dw*dw*(1-config['beta2'])
    config['m'] = m
    config['v'] = v
    t = config['t'] + 1
    mt = m/(1 - config['beta1']**t)
    vt = v/(1 - config['beta2']**t)
    config['t'] = t
    next_w = w - config['learning_rate']*mt/(np.sqrt(vt)+config['epsilon'])

    return next_w, config


# -- wrapper (not the author's): the contract's names for the author's functions ---------------
def sgd_momentum_update(w, dw, config=None):
    return sgd_momentum(w, dw, config)


def rmsprop_update(w, dw, config=None):
    return rmsprop(w, dw, config)


def adam_update(w, dw, config=None):
    return adam(w, dw, config)
