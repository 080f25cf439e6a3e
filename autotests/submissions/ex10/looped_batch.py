# expect: performance fail a Python loop over the elements
# expect: op_count fail loops in Python over the samples of the batch
# Correct batch normalisation whose training forward walks the batch sample by sample (the
# statistics and the normalisation in Python loops); the backward pass is vectorised.
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))
    if mode == 'train':
        mu = np.zeros(D)
        for n in range(N):
            mu += x[n]
        mu /= N
        var = np.zeros(D)
        for n in range(N):
            var += (x[n] - mu) ** 2
        var /= N
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = np.empty_like(x)
        out = np.empty_like(x)
        for n in range(N):
            x_hat[n] = (x[n] - mu) * inv_std
            out[n] = gamma * x_hat[n] + beta
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
        cache = (x_hat, gamma, inv_std)
    elif mode == 'test':
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError(f'invalid batchnorm mode {mode!r}')
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
