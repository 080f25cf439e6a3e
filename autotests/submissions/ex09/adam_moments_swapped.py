# expect: signature pass
# expect: defaults fail are m and v swapped
# expect: adam_first_step fail NaN exactly where dw < 0
"""Wrong: m averages dw**2 and v averages dw (the moments swapped): NaN where dw < 0 (D6)."""
import numpy as np


def sgd_momentum_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    v = config.get('velocity', np.zeros_like(w))

    v = config['momentum'] * v - config['learning_rate'] * dw
    next_w = w + v

    config['velocity'] = v
    return next_w, config


def rmsprop_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    cache = config.get('cache', np.zeros_like(w))

    rho = config['decay_rate']
    cache = rho * cache + (1 - rho) * dw ** 2
    next_w = w - config['learning_rate'] * dw / (np.sqrt(cache) + config['epsilon'])

    config['cache'] = cache
    return next_w, config


def adam_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    m = config.get('m', np.zeros_like(w))
    v = config.get('v', np.zeros_like(w))
    t = config.get('t', 0) + 1

    b1, b2 = config['beta1'], config['beta2']
    m = b1 * m + (1 - b1) * dw ** 2
    v = b2 * v + (1 - b2) * dw
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    next_w = w - config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])

    config['m'], config['v'], config['t'] = m, v, t
    return next_w, config
