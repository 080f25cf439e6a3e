# source: https://github.com/AKSoo/CS231n-2017/blob/1cf6afb9ce19229e2a57b9e7ae3f8faba558fd78/assignment2/cs231n/layers.py
# verdict: batchnorm_forward correct
# verdict: batchnorm_backward correct
"""CS231n 2017 batch normalisation: np.var (biased), eps inside the root, the running averages
stored back; the backward walks the computation graph (variance, then mean). The functions'
names and signatures are the contract's, so no wrapper is needed; docstrings left out.
"""
import numpy as np


# ---- copied verbatim from AKSoo/CS231n-2017 assignment2/cs231n/layers.py (commit 1cf6afb9ce) ----

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    cache = {}
    if mode == 'train':
        batch_mean = np.mean(x, axis=0)
        batch_var = np.var(x, axis=0)
        x_cent = x - batch_mean
        stde = np.sqrt(batch_var + eps)
        x_norm = x_cent / stde

        running_mean = momentum * running_mean + (1-momentum) * batch_mean
        running_var = momentum * running_var + (1-momentum) * batch_var

        cache['gamma'], cache['x_norm'] = gamma, x_norm
        cache['x_cent'], cache['stde'] = x_cent, stde
    elif mode == 'test':
        x_norm = (x - running_mean) / np.sqrt(running_var + eps)
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    out = gamma * x_norm + beta

    # Store the updated running means back into bn_param
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var

    return out, cache


def batchnorm_backward(dout, cache):
    N, D = dout.shape
    gamma, x_norm = cache['gamma'], cache['x_norm']
    x_cent, stde = cache['x_cent'], cache['stde']

    # shift
    dgamma = np.sum(dout * x_norm, axis=0) # D
    dx_norm = dout * gamma # N,D
    dbeta = np.sum(dout, axis=0) # D

    # x_cent / stde
    dx_cent = dx_norm / stde # N,D
    dvar = np.sum(dx_norm * x_cent, axis=0) * -0.5 / (stde**3) # D

    # var
    dx_cent += dvar * 2 * x_cent / N # N,D

    # x - mean
    dx = dx_cent # N,D
    dmean = np.sum(dx_cent, axis=0) * -1 # D

    # mean
    dx += dmean / N # N,D

    return dx, dgamma, dbeta
