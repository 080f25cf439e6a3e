# source: https://github.com/BenJaEGo/cs231n_2017_spring/blob/5bf6b10cc6e7c207bebe7979525ebb8dd0c0af5a/assignment2/cs231n/optim.py
# verdict: sgd_momentum_update correct
# verdict: rmsprop_update wrong: no square root, it divides by cache + epsilon instead of sqrt(cache) + epsilon
# verdict: adam_update wrong: t is never incremented (it stays at the default 1, or at whatever was given), so every step's bias correction uses the same t
# expect: rmsprop_many_steps fail take the square root of the cache first
# expect: adam_many_steps fail the bias correction always uses t = 1
# expect: adam_first_step pass
"""CS231n spring 2017 update rules: momentum as the contract has it; RMSProp forgets the square
root of the cache; Adam keeps the 2017 skeleton's t = 1 and never increments it, so the bias
correction 1/(1 - beta**1) is applied on every step. The wrapper only renames the author's
sgd_momentum / rmsprop / adam (arrays named x, dx in two of them) to the contract's names;
docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from BenJaEGo/cs231n_2017_spring assignment2/cs231n/optim.py (commit 5bf6b10cc6) ----

def sgd_momentum(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    v = config.get('velocity', np.zeros_like(w))

    next_w = None
    # pass
    v = config['momentum'] * v - config['learning_rate'] * dw
    next_w = w + v
    
    config['velocity'] = v

    return next_w, config


def rmsprop(x, dx, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('cache', np.zeros_like(x))

    next_x = None
    # pass
    config['cache'] = config['decay_rate'] * config['cache'] + (1. - config['decay_rate']) * dx * dx
    next_x = x - config['learning_rate'] * dx / (config['cache'] + config['epsilon'])

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

    next_x = None
    # pass
    config['m'] = config['beta1'] * config['m'] + (1. - config['beta1']) * dx
    config['v'] = config['beta2'] * config['v'] + (1. - config['beta2']) * dx * dx
    
    m_unbias = config['m'] / (1. - config['beta1'] ** config['t'])
    v_unbias = config['v'] / (1. - config['beta2'] ** config['t'])
    
    next_x = x - config['learning_rate'] * m_unbias / (np.sqrt(v_unbias) + config['epsilon'])
    
    return next_x, config


# -- wrapper (not the author's): the contract's names for the author's functions ---------------
def sgd_momentum_update(w, dw, config=None):
    return sgd_momentum(w, dw, config)


def rmsprop_update(w, dw, config=None):
    return rmsprop(w, dw, config)


def adam_update(w, dw, config=None):
    return adam(w, dw, config)
