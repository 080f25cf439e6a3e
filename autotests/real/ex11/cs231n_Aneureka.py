# source: https://github.com/Aneureka/cs231n-assignments-2018/blob/cb4b294f408ab23403dd18ca600900828c4180c1/assignment2/cs231n/layers.py
# verdict: maxpool_forward wrong: W_out is computed with pool_height, wrong for non-square pools
# verdict: maxpool_backward correct (looped)
# expect: forward_values fail W_out was computed with pool_height
# expect: backward_overlap pass
import numpy as np
import torch


def max_pool_forward_naive(x, pool_param):
    """
    A naive implementation of the forward pass for a max-pooling layer.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: dictionary with the following keys:
      - 'pool_height': The height of each pooling region
      - 'pool_width': The width of each pooling region
      - 'stride': The distance between adjacent pooling regions

    No padding is necessary here. Output size is given by 

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W') where H' and W' are given by
      H' = 1 + (H - pool_height) / stride
      W' = 1 + (W - pool_width) / stride
    - cache: (x, pool_param)
    """
    out = None
    ###########################################################################
    # TODO: Implement the max-pooling forward pass                            #
    ###########################################################################
    pool_height, pool_width, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - pool_height) // stride, 1 + (W - pool_height) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
      for j in range(W_out):
        out[:, :, i, j] = np.max(x[:, :, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width], axis=(-2, -1))
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a max-pooling layer.

    Inputs:
    - dout: Upstream derivatives
    - cache: A tuple of (x, pool_param) as in the forward pass.

    Returns:
    - dx: Gradient with respect to x
    """
    dx = None
    ###########################################################################
    # TODO: Implement the max-pooling backward pass                           #
    ###########################################################################
    x, pool_param = cache
    pool_height, pool_width, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H_out, W_out = dout.shape
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for i in range(0, H_out):
      for j in range(0, W_out):
        for p in range(0, N):
          for q in range(0, C):
            pool_block = x[p, q, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width]
            h_max, w_max = np.unravel_index(np.argmax(pool_block), pool_block.shape)
            dx[p, q, h_max+i*stride, w_max+j*stride] += np.sum(dout[p, q, i, j])
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx


# -- wrapper (not the author's): the contract's API around the author's numpy functions ---------
def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    pool_param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}
    out, cache = max_pool_forward_naive(x.cpu().numpy(), pool_param)
    return torch.from_numpy(out).to(x.device), cache


def maxpool_backward(dout, cache):
    return torch.from_numpy(max_pool_backward_naive(dout.cpu().numpy(), cache)).to(dout.device)
