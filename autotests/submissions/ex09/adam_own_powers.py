# expect: config_honoured fail restarts from t = 1
# expect: adam_many_steps pass
# expect: adam_first_step pass
# expect: sgd_momentum_many_steps pass
"""Wrong only when continuing a given state: Adam keeps the running powers beta1**t and
beta2**t in config keys of its own and ignores config['t'] for the bias correction, so a state
{m, v, t} from elsewhere restarts the correction at t = 1. Its own runs are right: the grader's
one-round-trip check (fed the contract's state only) cannot vouch for them and must fall back to
the sequential run, which passes (adam_many_steps)."""
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
    b1, b2 = config["beta1"], config["beta2"]
    config["beta1_t"] = config.get("beta1_t", 1.0) * b1
    config["beta2_t"] = config.get("beta2_t", 1.0) * b2
    m[...] = b1 * m + (1 - b1) * dw
    v[...] = b2 * v + (1 - b2) * dw ** 2
    m_hat = m / (1 - config["beta1_t"])
    v_hat = v / (1 - config["beta2_t"])
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
