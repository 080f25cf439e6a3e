# source: https://github.com/Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition/blob/14413a47c6c54c98c2a02a09c85fed747af296ba/cs231n/layers.py
# verdict: batchnorm_forward correct
# verdict: batchnorm_backward correct
"""CS231n 2020 batch normalisation with the variance written as mean((x - mean)**2); graded
with the student's simplified `batchnorm_backward_alt` (means over the batch, two lines), wrapped
as the contract's batchnorm_backward. Docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition cs231n/layers.py (commit 14413a47c6) ----

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        sample_mean = np.mean(x,axis=0)
        sample_var = np.mean((x- sample_mean)**2, axis=0)

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
        
        x_sub = x-sample_mean
        std = np.sqrt(sample_var+eps)
        x_norm = x_sub/std
        out = gamma*x_norm + beta
        cache = (x, x_sub, x_norm, gamma, beta, sample_mean, std)
    elif mode == "test":
        out = gamma*(x-running_mean)/np.sqrt(running_var+eps) + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    # Store the updated running means back into bn_param
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var

    return out, cache


def batchnorm_backward_alt(dout, cache):
    dx, dgamma, dbeta = None, None, None
    _, _, x_norm, gamma, beta, _, std = cache  

    dgamma = np.sum(dout*x_norm, axis=0)
    dbeta =  np.sum(dout, axis=0)
    d_x_norm = dout*gamma

    d_x_sub = (d_x_norm - x_norm*np.mean(d_x_norm*x_norm, axis=0))/std
    dx = d_x_sub - np.mean(d_x_sub, axis=0)

    return dx, dgamma, dbeta


# ---- wrapper: the contract's name for the backward ----
def batchnorm_backward(dout, cache):
    return batchnorm_backward_alt(dout, cache)
