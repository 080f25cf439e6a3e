# source: https://github.com/0809zheng/CS231n-assignment2019/blob/3f5c853986637e2eba33f70c982fac7c618ff0f3/assignment2/cs231n/layers.py
# verdict: maxpool_forward correct (looped)
# verdict: maxpool_backward wrong: int() of the 1-element arrays np.where returns raises TypeError in numpy 2 (older numpy accepted it), and the gradient is assigned (=) at each window's maximum, so overlapping windows that share a maximum would keep only the last one's
# expect: backward_dx error only 0-dimensional arrays
# expect: forward_values pass
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
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    
    H_ = int((H - pool_height)/stride + 1)
    W_ = int((W - pool_width)/stride + 1)
    out = np.zeros((N, C, H_, W_))
    
    for i in range(H_):
        for j in range(W_):
            temp = x[:, :, i*stride:(i*stride+pool_height), j*stride:(j*stride+pool_width)]
            out[:, :, i, j] = np.max(temp, axis = (2,3))

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
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
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    x, pool_param = cache
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    
    H_ = int((H - pool_height)/stride + 1)
    W_ = int((W - pool_width)/stride + 1)
    assert dout.shape == (N, C, H_, W_)
    
    dx = np.zeros((N, C, H, W))
    for n in range(N):
        for c in range(C):
            for i in range(H_):
                for j in range(W_):
                    temp = x[n, c, i*stride:(i*stride+pool_height), j*stride:(j*stride+pool_width)]
                    row, col = np.where(temp == np.max(temp))
                    dx[n, c, i*stride + int(row), j*stride + int(col)] = dout[n, c, i, j]

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
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
