# expect: full
"""Correct: builds a new state dict every call and never touches the caller's arrays."""
import numpy as np


def adagrad_update(w, dw, config=None):
    state = dict(config) if config is not None else {}
    lr = state.get("learning_rate", 1e-2)
    eps = state.get("epsilon", 1e-10)
    cache = state.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    cache = cache + np.square(dw)
    next_w = w - lr * dw / (np.sqrt(cache) + eps)
    state.update(learning_rate=lr, epsilon=eps, cache=cache)
    return next_w, state
