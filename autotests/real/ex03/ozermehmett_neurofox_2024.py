# source: https://github.com/ozermehmett/NeuroFox/blob/ec8742d8a59549ee2e73cbd3336dd67134c98880/optimizers/adagrad_optimizer.py
# verdict: adagrad_update wrong: the default epsilon is 1e-7 (Keras'), not the contract's 1e-10; with an explicit epsilon it is right
# expect: defaults fail
# expect: large_epsilon pass
# expect: cache_state pass
"""A student's numpy deep-learning library (NeuroFox, 2024): cache += g**2 and
w -= lr * g / (sqrt(cache) + epsilon), exactly Adagrad; the constructor's default epsilon is 1e-7.
"""
import numpy as np


# ---- copied verbatim from ozermehmett/NeuroFox optimizers/adagrad_optimizer.py (commit ec8742d8a5) ----

class AdaGradOptimizer:
    def __init__(self, learning_rate=0.01, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.cache = {}

    def update(self, layer):
        if layer not in self.cache:
            self.cache[layer] = {'weights': np.zeros_like(layer.weights), 'biases': np.zeros_like(layer.biases)}

        self.cache[layer]['weights'] += layer.dweights ** 2
        self.cache[layer]['biases'] += layer.dbiases ** 2

        layer.weights -= self.learning_rate * layer.dweights / (np.sqrt(self.cache[layer]['weights']) + self.epsilon)
        layer.biases -= self.learning_rate * layer.dbiases / (np.sqrt(self.cache[layer]['biases']) + self.epsilon)


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
class _Layer:
    """The attributes their optimizer reads and writes: weights, biases and their gradients."""

    def __init__(self, weights, dweights):
        self.weights, self.dweights = weights, dweights
        self.biases, self.dbiases = np.zeros(1), np.zeros(1)


def adagrad_update(w, dw, config=None):
    """Their optimizer keeps a cache per layer and updates the layer in place; here the state
    travels in config (config['cache'] is the layer's 'weights' cache), and a hyperparameter is
    passed only when config holds it (their constructor's defaults otherwise)."""
    if config is None:
        config = {}
    kwargs = {k: config[k] for k in ("learning_rate", "epsilon") if k in config}
    opt = AdaGradOptimizer(**kwargs)
    config["learning_rate"], config["epsilon"] = opt.learning_rate, opt.epsilon
    layer = _Layer(w.copy(), dw)                  # their update writes into layer.weights
    if "cache" in config:
        opt.cache[layer] = {"weights": config["cache"], "biases": np.zeros(1)}
    opt.update(layer)
    config["cache"] = opt.cache[layer]["weights"]
    return layer.weights, config
