# source: https://github.com/7forz/CS231n_assignments/blob/a3d5af2d6290b05ebb698c250e2bcab5154a4a1c/assignment2/cs231n/layers.py
# verdict: maxpool_forward correct (looped)
# verdict: maxpool_backward correct (looped)
# expect: edge_configs pass
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
    out = None
    ###########################################################################
    # TODO: Implement the max pooling forward pass                            #
    ###########################################################################
    N, C, H, W = x.shape
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    H_new = int(1 + (H - pool_height) / stride)
    W_new = int(1 + (W - pool_width) / stride)
    
    out = np.zeros((N, C, H_new, W_new))
#     for _n in range(N):  # the nth image
#         for _c in range(C):
#             img = x[_n][_c]  # img.shape is 2 dimensions
#             for _h in range(H_new):
#                 for _w in range(W_new):
#                     img_part = img[_h*stride: _h*stride+pool_height,
#                                    _w*stride: _w*stride+pool_width]
#                     out[_n, _c, _h, _w] = np.max(img_part)
    # higher efficiency
    for _h in range(H_new):
        for _w in range(W_new):
            img_mask = x[:,  # all images
                         :,  # all channels
                         _h*stride: _h*stride+pool_height,
                         _w*stride: _w*stride+pool_width]
            out[:, :, _h, _w] = np.max(img_mask, axis=(2,3))
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
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
    dx = None
    ###########################################################################
    # TODO: Implement the max pooling backward pass                           #
    ###########################################################################
    x, pool_param = cache
    N, C, H, W = x.shape
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    H_new = int(1 + (H - pool_height) / stride)
    W_new = int(1 + (W - pool_width) / stride)
    dx = np.zeros_like(x)

    for _h in range(H_new):
        for _w in range(W_new):
            img_mask = x[:,  # all images
                         :,  # all channels
                         _h*stride: _h*stride+pool_height,
                         _w*stride: _w*stride+pool_width]  # shape=(N,C,pool_height,pool_width)
            max_x_masked = np.max(img_mask, axis=(2,3))  # shape=(N,C)
            max_x_masked = max_x_masked[:, :, None, None]  # 添加2个维度 使维度对齐 shape=(N,C,1,1)

            is_max = (max_x_masked == img_mask)  # shape=(N,C,pool_height,pool_width)
            # 在原尺寸的dx上分块填入is_max中为True的位置的dout对应值
            dx[:, :, _h*stride: _h*stride+pool_height, 
               _w*stride: _w*stride+pool_width] += (dout[:, :, _h, _w])[:, :, None, None] * is_max
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
