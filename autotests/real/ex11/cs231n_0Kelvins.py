# source: https://github.com/0Kelvins/cs231n-assignment/blob/92ca7c2fa485bb184bcb696eb702a31044047d92/assignment2/cs231n/layers.py
# verdict: maxpool_forward correct (looped)
# verdict: maxpool_backward correct (looped)
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

    stride = pool_param.get('stride', 1)
    pool_height = pool_param.get('pool_height', 1)
    pool_width = pool_param.get('pool_width', 1)

    N, C, H, W = x.shape
    H_prime = int(1 + (H - pool_height) / stride)
    W_prime = int(1 + (W - pool_width) / stride)

    out = np.zeros((N, C, H_prime, W_prime),dtype = np.float64)
    h_now = 0
    w_now = 0
    for i in range(N):
        x_i = x[i]
        for h_now in range(H_prime):
            for w_now in range(W_prime):
                x_i_slice = x_i[:, h_now*stride:h_now*stride+pool_height, w_now*stride:w_now*stride+pool_width]
                out[i,:,h_now,w_now] = np.max(np.max(x_i_slice,axis = 2),axis = 1) # max on w and h flat


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
    stride = pool_param.get('stride', 1)
    pool_height = pool_param.get('pool_height', 1)
    pool_width = pool_param.get('pool_width', 1)

    N, C, H, W = x.shape
    H_prime = int(1 + (H - pool_height) / stride)
    W_prime = int(1 + (W - pool_width) / stride)

    # dout = np.zeros((N, C, H_prime, W_prime),dtype = np.float64)
    dx = np.zeros(x.shape,dtype = np.float64)
    h_now = 0
    w_now = 0
    for i in range(N):
        x_i = x[i]
        for h_now in range(H_prime):
            for w_now in range(W_prime):
                x_i_slice = x_i[:, h_now*stride:h_now*stride+pool_height, w_now*stride:w_now*stride+pool_width]
                for c in range(C):
                    x_i_c = x_i_slice[c]
                    mask = np.zeros(x_i_c.shape, dtype = np.float64)
                    mask[x_i_c == np.max(x_i_c)] = 1
                    mask /= np.sum(mask) # to devide the gradient to several same max values
                    dx[i, c, h_now*stride:h_now*stride+pool_height, w_now*stride:w_now*stride+pool_width] += mask * dout[i,c,h_now,w_now]


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
