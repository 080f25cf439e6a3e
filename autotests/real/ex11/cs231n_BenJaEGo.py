# source: https://github.com/BenJaEGo/cs231n_2017_spring/blob/19ec30c1b0cd049ea2ddb6cb98a6a8a7aa907d36/assignment2/cs231n/layers.py
# verdict: maxpool_forward wrong: im2col row index h_idx*out_h + w_idx (should be h_idx*out_w + w_idx): windows overwrite each other or overflow when out_h != out_w
# verdict: maxpool_backward wrong: recovers the window from idx // out_h and idx % out_w, wrong when out_h != out_w
# expect: forward_values fail
# expect: backward_dx error ValueError
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
    #pass
    
    def im2col(x, hh, ww, stride):
        # x shape [C, H, W]
        C, H, W = x.shape
        out_h = (H - hh) // stride + 1
        out_w = (W - ww) // stride + 1
        out = np.zeros([out_h*out_w, C*hh*ww])
        for h_idx in range(out_h):
            for w_idx in range(out_w):
                out[h_idx*out_h+w_idx, :] = x[:,h_idx*stride:(h_idx*stride+hh),w_idx*stride:(w_idx*stride+ww)].ravel()
        out = out.reshape([out_h*out_w, C, hh*ww])
        max_value = np.max(out, axis=2)
        max_index = np.argmax(out, axis=2)
        # max_value [C, out_h, out_w]
        max_value = max_value.reshape([out_h, out_w, C]).transpose(2, 0, 1)
        #print(max_index.shape)
        return max_value, max_index
    N, C, H, W = x.shape
    out_h = (H - pool_param['pool_height']) // pool_param['stride'] + 1
    out_w = (W - pool_param['pool_width']) // pool_param['stride'] + 1
    out = np.zeros([N, C, out_h, out_w])
    max_indexs = []
    for sample_idx in range(N):
        sample = x[sample_idx]
        sample_max_value, sample_max_index = im2col(sample, 
                                                    pool_param['pool_height'], 
                                                    pool_param['pool_width'], 
                                                    pool_param['stride'])
        out[sample_idx] = sample_max_value
        max_indexs.append(sample_max_index)
    
    
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, max_indexs, pool_param)
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
    # pass
    
    def im2col_backward(dout, max_index, out_h, out_w, C, HH, WW, stride):
        # dout [C, out_h, out_w]
        # max_index [out_h*out_w, C]
        # dout now [out_h*out_w, C]
        dout = dout.transpose(1, 2, 0).reshape([out_h*out_w, C])
        dout_reshape = np.zeros([out_h*out_w, C, HH*WW])
        for idx in range(out_h*out_w):
            for c_idx in range(C):
                dout_reshape[idx, c_idx, max_index[idx, c_idx]] = dout[idx, c_idx]
        dout_reshape = dout_reshape.reshape([out_h*out_w, C, HH, WW])
        #out [C, H, W]
        dx = np.zeros([C, H, W])
        for idx in range(out_h*out_w):
            h_idx = (idx // out_h) * stride
            w_idx = (idx % out_w) * stride
            dpatch = dout_reshape[idx]
            dx[:, h_idx:(h_idx+HH), w_idx:(w_idx+WW)] += dpatch
        
        return dx
    
    x, max_indexs, pool_param = cache
    N, C, H, W = x.shape
    out_h = (H - pool_param['pool_height']) // pool_param['stride'] + 1
    out_w = (W - pool_param['pool_width']) // pool_param['stride'] + 1
    dx = np.zeros(x.shape)
    for sample_idx in range(N):
        sample_max_idx = max_indexs[sample_idx]
        dout_sample = dout[sample_idx]
        dsample = im2col_backward(dout_sample, sample_max_idx, 
                                  out_h, out_w, C, 
                                  pool_param['pool_height'], pool_param['pool_width'], pool_param['stride'])
        dx[sample_idx] = dsample
    
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
