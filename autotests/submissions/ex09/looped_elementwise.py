# expect: performance fail a Python loop over the elements
# expect: op_count fail loops in Python over the elements of w
# Correct momentum, RMSProp and Adam, each applied one element at a time.
import math

import numpy as np


def _each(w, arrays, step):
    """Apply ``step(i, *values) -> tuple`` to every flat index; new arrays of w's shape."""
    outs = None
    flats = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    for i in range(w.size):
        res = step(*[f[i] for f in flats])
        if outs is None:
            outs = [np.empty(w.size) for _ in res]
        for o, r in zip(outs, res):
            o[i] = r
    return [o.reshape(w.shape) for o in outs]


def sgd_momentum_update(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault('learning_rate', 1e-2)
    mu = config.setdefault('momentum', 0.9)
    v0 = np.broadcast_to(config.get('velocity', np.zeros_like(w)), w.shape)
    next_w, v = _each(w, [w, dw, v0], lambda wi, gi, vi: (wi + (mu * vi - lr * gi),
                                                          mu * vi - lr * gi))
    config['velocity'] = v
    return next_w, config


def rmsprop_update(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault('learning_rate', 1e-2)
    rho = config.setdefault('decay_rate', 0.99)
    eps = config.setdefault('epsilon', 1e-8)
    c0 = np.broadcast_to(config.get('cache', np.zeros_like(w)), w.shape)

    def step(wi, gi, ci):
        c = rho * ci + (1 - rho) * gi * gi
        return wi - lr * gi / (math.sqrt(c) + eps), c
    next_w, cache = _each(w, [w, dw, c0], step)
    config['cache'] = cache
    return next_w, config


def adam_update(w, dw, config=None):
    config = {} if config is None else config
    lr = config.setdefault('learning_rate', 1e-3)
    b1 = config.setdefault('beta1', 0.9)
    b2 = config.setdefault('beta2', 0.999)
    eps = config.setdefault('epsilon', 1e-8)
    m0 = np.broadcast_to(config.get('m', np.zeros_like(w)), w.shape)
    v0 = np.broadcast_to(config.get('v', np.zeros_like(w)), w.shape)
    t = config.get('t', 0) + 1

    def step(wi, gi, mi, vi):
        m = b1 * mi + (1 - b1) * gi
        v = b2 * vi + (1 - b2) * gi * gi
        return wi - lr * (m / (1 - b1 ** t)) / (math.sqrt(v / (1 - b2 ** t)) + eps), m, v
    next_w, m, v = _each(w, [w, dw, m0, v0], step)
    config['m'], config['v'], config['t'] = m, v, t
    return next_w, config
