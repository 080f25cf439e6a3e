# source: https://github.com/1204al/cs231n_2019/blob/cbab51080f98f23693eb1f5f029284efb8c4a29c/assignment2/cs231n/layers.py
# verdict: batchnorm_forward wrong: keepdims=True statistics, so bn_param's running_mean and running_var are stored with shape (1, D) instead of (D,)
# verdict: batchnorm_backward correct
# expect: train_forward fail has shape (1, 5)
"""CS231n 2019 batch normalisation with keepdims=True batch statistics: out is right, but the
running averages become (1, D) arrays (the contract stores them with shape (D,)). The compact
backward is right. Names and signatures are the contract's (no wrapper); docstrings and TODO
banners left out.
"""
import numpy as np


# ---- copied verbatim from 1204al/cs231n_2019 assignment2/cs231n/layers.py (commit cbab51080f) ----

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        x_mean=np.mean(x,axis=0,keepdims=True)
        x_var=np.var(x,axis=0,keepdims=True)
        
        x_normalize=(x-x_mean)/np.sqrt(x_var+eps)
        
        out=x_normalize*gamma+beta
        
        cache=(x,x_mean,x_var,x_normalize,gamma,beta,eps)
        
        running_mean=momentum*running_mean+(1-momentum)*x_mean
        running_var=momentum*running_var+(1-momentum)*x_var
    elif mode == 'test':
        x_normalize=(x-running_mean)/np.sqrt(running_var+eps)
        out=gamma*x_normalize+beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    # Store the updated running means back into bn_param
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var

    return out, cache


def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    N,D=dout.shape
    x,x_mean,x_var,x_normalize,gamma,beta,eps=cache
    dbeta=np.sum(dout,axis=0)
    dgamma=np.sum(x_normalize*dout,axis=0)
    dx=(1./N)*gamma/np.sqrt(x_var+eps)*(N*dout-np.sum(dout,axis=0)-(x-x_mean)*1/(x_var+eps)*np.sum(dout*(x-x_mean),axis=0))

    return dx, dgamma, dbeta
