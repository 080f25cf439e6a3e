# source: https://github.com/0809zheng/CS231n-assignment2019/blob/bfc81c1989e71b4887a9bcd581b273d2faefb90d/assignment2/cs231n/layers.py
# verdict: batchnorm_forward wrong: keepdims=True statistics, so the running averages are stored with shape (1, D) instead of (D,)
# verdict: batchnorm_backward wrong: dgamma and dbeta summed with keepdims=True have shape (1, D) instead of (D,); dx is right
# expect: train_forward fail has shape (1, 5)
# expect: backward fail dgamma has shape (1, 5)
"""CS231n 2019 batch normalisation with keepdims=True everywhere: out and dx are right, the
running statistics and dgamma / dbeta have shape (1, D). Names and signatures are the
contract's (no wrapper); docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from 0809zheng/CS231n-assignment2019 assignment2/cs231n/layers.py (commit bfc81c1989) ----

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        mean = np.mean(x, axis = 0, keepdims = True)
        var = np.var(x, axis = 0, keepdims = True)
        xnorm = (x - mean)/np.sqrt(var + eps)
        out = gamma*xnorm + beta
        running_mean = momentum*running_mean + (1 - momentum)*mean
        running_var = momentum*running_var + (1 - momentum)*var
        cache = [x, gamma, mean, var, eps]
    elif mode == 'test':
        x = (x - running_mean)/np.sqrt(running_var + eps)
        out = gamma*x + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    # Store the updated running means back into bn_param
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var

    return out, cache


def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    x, gamma, mean, var, eps = cache
    xnorm = (x - mean)/np.sqrt(var + eps)
    std = np.sqrt(var + eps)
    N, D = x.shape
    
    dbeta = np.sum(dout, axis = 0, keepdims = True)
    dgamma = np.sum(xnorm*dout, axis = 0, keepdims = True)
    dy = dout * gamma.reshape(1, -1)
    dx1 = dy/std
    dx2 = -np.sum(dy/(std*N), axis = 0, keepdims = True)
    dx3 = -np.sum(dy*xnorm/std**2, axis = 0, keepdims = True)*((x - mean)/N - np.sum(x - mean, axis = 0, keepdims = True)/N**2)
    dx = dx1 + dx2 + dx3
    
    return dx, dgamma, dbeta
