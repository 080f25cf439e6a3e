# source: https://github.com/AgainstEntropy/CS231n-assignment2021/blob/36498906fd1a89fee2e2ea71ab6be04730c1ee5a/assignment2/cs231n/layers.py
# verdict: maxpool_forward wrong: the output size is round(1 + (H - pool_height) / stride) instead of the floor, one window too many where the windows do not tile the input
# verdict: maxpool_backward wrong: the same rounded output size, so it reads dout past its last window where the windows do not tile the input
# expect: edge_configs fail rounded
# expect: forward_values pass
# expect: backward_overlap pass
import numpy as np
import torch


def max_pool_forward_naive(x, pool_param):
    """A naive implementation of the forward pass for a max-pooling layer.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: dictionary with the following keys:
      - 'pool_height': The height of each pooling region
      - 'pool_width': The width of each pooling region
      - 'stride': The distance between adjacent pooling regions

    No padding is necessary here, eg you can assume:
      - (H - pool_height) % stride == 0
      - (W - pool_width) % stride == 0

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

    N, C, H, W = x.shape
    pool_height, pool_width, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']

    H_out = round(1 + (H - pool_height) / stride)
    W_out = round(1 + (W - pool_width) / stride)

    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        image = x[n]  # C*H*W
        for c in range(C):
            channel = image[c]  # H*W
            for h_step in range(H_out):
                h_conv = h_step * stride
                for w_step in range(W_out):
                    w_conv = w_step * stride
                    channel_window = channel[h_conv: h_conv + pool_height, w_conv: w_conv + pool_width]  # HH*WW
                    out[n, c, h_step, w_step] = np.max(channel_window)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """A naive implementation of the backward pass for a max-pooling layer.

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
    N, C, H, W = x.shape
    pool_height, pool_width, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']

    H_out = round(1 + (H - pool_height) / stride)
    W_out = round(1 + (W - pool_width) / stride)

    # out = np.zeros((N, C, H_out, W_out))
    dx = np.zeros_like(x)
    for n in range(N):
        image = x[n]  # C*H*W
        dimage = dx[n]
        for c in range(C):
            channel = image[c]  # H*W
            dchannel = dimage[c]
            for h_step in range(H_out):
                h_conv = h_step * stride
                for w_step in range(W_out):
                    w_conv = w_step * stride
                    channel_window = channel[h_conv: h_conv + pool_height, w_conv: w_conv + pool_width]  # HH*WW
                    dchannel_window = dchannel[h_conv: h_conv + pool_height, w_conv: w_conv + pool_width]
                    # out[n, c, h_step, w_step] = np.max(channel_window)
                    d = np.zeros_like(channel_window)
                    ind = np.unravel_index(np.argmax(channel_window), channel_window.shape)
                    d[ind] = 1
                    dchannel_window += d * dout[n, c, h_step, w_step]

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
