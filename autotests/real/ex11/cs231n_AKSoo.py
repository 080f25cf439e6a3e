# source: https://github.com/AKSoo/CS231n-2017/blob/07e1861c98100010f9441c3ed4d1116408d7743c/assignment2/cs231n/layers.py
# verdict: maxpool_forward correct (looped)
# verdict: maxpool_backward wrong: assigns (=) the gradient at each window's maximum, losing the sum where overlapping windows share a maximum
# expect: backward_overlap fail overwrites
import numpy as np
import torch


def max_pool_forward_naive(x, pool_param):
    """
    A naive implementation of the forward pass for a max pooling layer.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: dictionary with the following keys:
      - 'pool_height': The height of each pooling region
      - 'pool_width': The width of each pooling region
      - 'stride': The distance between adjacent pooling regions

    Returns a tuple of:
    - out: Output data
    - cache: (x, pool_param)
    """
    N, C, H, W = x.shape
    HH, WW = pool_param['pool_height'], pool_param['pool_width']
    S = pool_param['stride']
    Hp = int(1 + (H - HH) / S)
    Wp = int(1 + (W - WW) / S)

    out = np.zeros((N, C, Hp, Wp))

    for n in range(N):
        for c in range(C):
            for i in range(Hp):
                for j in range(Wp):
                    out[n,c,i,j] = np.max(x[n, c, i*S : i*S + HH, j*S : j*S + WW])

    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a max pooling layer.

    Inputs:
    - dout: Upstream derivatives
    - cache: A tuple of (x, pool_param) as in the forward pass.

    Returns:
    - dx: Gradient with respect to x
    """
    x, pool_param = cache
    HH, WW = pool_param['pool_height'], pool_param['pool_width']
    S = pool_param['stride']
    N, C, Hp, Wp = dout.shape

    dx = np.zeros_like(x)

    for n in range(N):
        for c in range(C):
            for i in range(Hp):
                for j in range(Wp):
                    region = x[n, c, i*S : i*S + HH, j*S : j*S + WW]
                    iM, jM = np.unravel_index(np.argmax(region), region.shape)
                    dx[n, c, i*S + iM, j*S + jM] = dout[n,c,i,j]

    return dx


# -- wrapper (not the author's): the contract's API around the author's numpy functions ---------
def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    pool_param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}
    out, cache = max_pool_forward_naive(x.cpu().numpy(), pool_param)
    return torch.from_numpy(out).to(x.device), cache


def maxpool_backward(dout, cache):
    return torch.from_numpy(max_pool_backward_naive(dout.cpu().numpy(), cache)).to(dout.device)
