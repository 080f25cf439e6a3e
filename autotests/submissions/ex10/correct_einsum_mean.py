# expect: full
"""Correct: setdefault for the state, keepdims statistics, the compact backward with means."""
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.setdefault("eps", 1e-5)
    momentum = bn_param.setdefault("momentum", 0.9)
    rm = bn_param.setdefault("running_mean", np.zeros(x.shape[1]))
    rv = bn_param.setdefault("running_var", np.zeros(x.shape[1]))
    if bn_param["mode"] == "test":
        return (x - rm) * (gamma / np.sqrt(rv + eps)) + beta, None
    mean = x.mean(axis=0, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=0, keepdims=True)
    inv = (var + eps) ** -0.5
    xn = (x - mean) * inv
    bn_param["running_mean"] = momentum * rm + (1 - momentum) * mean[0]
    bn_param["running_var"] = momentum * rv + (1 - momentum) * var[0]
    return xn * gamma + beta, {"xn": xn, "inv": inv, "gamma": gamma}


def batchnorm_backward(dout, cache):
    xn, inv, gamma = cache["xn"], cache["inv"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("nd,nd->d", dout, xn)
    g = dout * gamma
    dx = inv * (g - g.mean(axis=0) - xn * (g * xn).mean(axis=0))
    return dx, dgamma, dbeta
