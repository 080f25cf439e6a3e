# source: https://github.com/wuyuanhang94/impl-dl-with-numpy/blob/f1ebb914bb0a2953c1a79357ca7bbc372d775b5a/utils/optimizer.py
# verdict: adagrad_update wrong: epsilon is a constant 1e-7 in the update, so config['epsilon'] is ignored and the default is not the contract's 1e-10
# expect: large_epsilon fail
"""A from-scratch numpy framework (2020, after "Deep Learning from Scratch"): AdaGrad with
h += g**2 and w -= lr * g / (sqrt(h) + 1e-7). The formula is Adagrad's, with epsilon after the
square root as torch does, but epsilon is hard-coded to 1e-7: a config's epsilon has no effect
and the default differs from the contract's 1e-10 (torch.optim.Adagrad's).
"""
import numpy as np


# ---- copied verbatim from wuyuanhang94/impl-dl-with-numpy utils/optimizer.py (commit f1ebb914bb) ----

class AdaGrad:
    def __init__(self, lr=1e-2):
        self.learning_rate = lr
        self.h = {}

    def update(self, params, grads):
        for key in params.keys():
            if key not in self.h:
                self.h[key] = grads[key] * grads[key]
            else:
                self.h[key] += grads[key] * grads[key]
            delta = 1e-7 # 防止除零
            params[key] -= self.learning_rate * 1/(np.sqrt(self.h[key]) + delta) * grads[key]


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
def adagrad_update(w, dw, config=None):
    """Their AdaGrad updates a dict of parameters in place and keeps the running sum of squares in
    self.h; here the state travels in config: config['cache'] is their h for this parameter.
    config['epsilon'] reports the constant their update uses (it cannot be changed)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)      # AdaGrad(lr=1e-2), their default
    config.setdefault("epsilon", 1e-7)            # their `delta = 1e-7`
    opt = AdaGrad(lr=config["learning_rate"])
    if "cache" in config:
        opt.h["w"] = config["cache"]
    params = {"w": w.copy()}                      # their update writes into params
    opt.update(params, {"w": dw})
    config["cache"] = opt.h["w"]
    return params["w"], config
