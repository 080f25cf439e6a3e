# source: https://github.com/0Kelvins/cs231n-assignment/blob/92ca7c2fa485bb184bcb696eb702a31044047d92/assignment2/cs231n/layers.py
# verdict: batchnorm_forward correct
# verdict: batchnorm_backward correct
"""CS231n 2019+ batch normalisation with 1/sqrt(var + eps) cached as `norm`; the backward
through dsample_mean and dsample_var separately. Names and signatures are the contract's (no
wrapper); docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from 0Kelvins/cs231n-assignment assignment2/cs231n/layers.py (commit 92ca7c2fa4) ----

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        sample_mean = np.mean(x, axis=0)
        sample_var  = np.var(x, axis=0)
        mean = x - sample_mean
        norm = 1 / np.sqrt(sample_var + eps)
        x_hat = mean * norm

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
        out = gamma * x_hat + beta

        cache = (x, x_hat, gamma, norm, mean, sample_var, eps)
    elif mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    # Store the updated running means back into bn_param
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var

    return out, cache


def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    N = dout.shape[0]
    x, x_hat, gamma, norm, mean, sample_var, eps = cache

    dbeta  = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dsample_mean = np.sum(dx_hat * (-norm), axis=0)
    dsample_var  = np.sum((dx_hat * mean * (-1/2) * (sample_var + eps)**(-3/2)), axis = 0)
    dx = dx_hat * norm + dsample_mean * (1.0/N) + dsample_var * ((2.0/N )* (mean))

    return dx, dgamma, dbeta
