# source: https://github.com/Aneureka/cs231n-assignments-2018/blob/aa107ff93f13b4f3112b5092ac34fc165a5511ce/assignment2/cs231n/optim.py
# verdict: sgd_momentum_update correct
# verdict: rmsprop_update correct
# verdict: adam_update wrong: no bias correction (steps with m / (sqrt(v) + eps)) and t is never incremented (config['t'] stays 0)
# expect: adam_first_step fail Hint: no bias correction
# expect: state fail config['t'] is 0 after step 1
"""CS231n 2018 update rules: momentum and RMSProp (state updated in config directly) as the
contract has them; Adam updates m and v but skips the bias correction and never touches t.
The wrapper only renames the author's sgd_momentum / rmsprop / adam to the contract's names;
docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from Aneureka/cs231n-assignments-2018 assignment2/cs231n/optim.py (commit aa107ff93f) ----

def sgd_momentum(w, dw, config=None):
    if config is None: config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    v = config.get('velocity', np.zeros_like(w))

    next_w = None
    v = config['momentum'] * v - config['learning_rate'] * dw
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
    config['cache'] = config['decay_rate'] * config['cache'] + (1 - config['decay_rate']) * dw**2
    next_w = w - config['learning_rate'] * dw / (np.sqrt(config['cache']) + config['epsilon'])

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
    config['m'] = config['beta1'] * config['m'] + (1-config['beta1']) * dw
    config['v'] = config['beta2'] * config['v'] + (1-config['beta2']) * dw**2
    next_w = w - config['learning_rate'] * config['m'] / (np.sqrt(config['v']) + config['epsilon'])

    return next_w, config


# -- wrapper (not the author's): the contract's names for the author's functions ---------------
def sgd_momentum_update(w, dw, config=None):
    return sgd_momentum(w, dw, config)


def rmsprop_update(w, dw, config=None):
    return rmsprop(w, dw, config)


def adam_update(w, dw, config=None):
    return adam(w, dw, config)
