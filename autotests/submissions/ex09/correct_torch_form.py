# expect: full
"""Correct, written differently: Adam with torch's step_size / bias_correction2_sqrt grouping,
RMSprop with the average written as a lerp, fresh dicts returned."""
import numpy as np


def sgd_momentum_update(w, dw, config=None):
    cfg = {"learning_rate": 1e-2, "momentum": 0.9, **(config or {})}
    v = cfg["momentum"] * cfg.get("velocity", 0.0) - cfg["learning_rate"] * dw
    cfg["velocity"] = np.broadcast_to(v, w.shape).copy()
    return w + cfg["velocity"], cfg


def rmsprop_update(w, dw, config=None):
    cfg = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, **(config or {})}
    c = cfg.get("cache", np.zeros_like(w))
    c = c + (1 - cfg["decay_rate"]) * (dw * dw - c)
    cfg["cache"] = c
    return w - cfg["learning_rate"] * dw / (np.sqrt(c) + cfg["epsilon"]), cfg


def adam_update(w, dw, config=None):
    cfg = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0,
           **(config or {})}
    b1, b2 = cfg["beta1"], cfg["beta2"]
    t = cfg["t"] + 1
    m = b1 * cfg.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * cfg.get("v", np.zeros_like(w)) + (1 - b2) * np.square(dw)
    step_size = cfg["learning_rate"] / (1 - b1 ** t)
    denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + cfg["epsilon"]
    cfg.update(m=m, v=v, t=t)
    return w - step_size * m / denom, cfg
