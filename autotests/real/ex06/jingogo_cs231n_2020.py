# source: https://github.com/Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition/blob/14413a47c6c54c98c2a02a09c85fed747af296ba/cs231n/layers.py
# verdict: conv_forward correct (looped)
# verdict: conv_backward correct (looped)
"""CS231n 2020 naive convolution: np.pad, then a loop over output positions with one matrix product
per window (H_out from int() of a non-negative quotient, that is the floor); the backward adds
each window's gradient into a padded dx (+=, so overlapping windows add up) and cuts the padding
off. Numpy inside a torch exercise: the wrapper hands it views of the tensors.
"""
from builtins import range
import numpy as np


# ---- copied verbatim from Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition cs231n/layers.py (commit 14413a47c6) ----

def conv_forward_naive(x, w, b, conv_param):
    """
    A naive implementation of the forward pass for a convolutional layer.

    The input consists of N data points, each with C channels, height H and
    width W. We convolve each input with F different filters, where each filter
    spans all C channels and has height HH and width WW.

    Input:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with the following keys:
      - 'stride': The number of pixels between adjacent receptive fields in the
        horizontal and vertical directions.
      - 'pad': The number of pixels that will be used to zero-pad the input. 
        

    During padding, 'pad' zeros should be placed symmetrically (i.e equally on both sides)
    along the height and width axes of the input. Be careful not to modfiy the original
    input x directly.

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W') where H' and W' are given by
      H' = 1 + (H + 2 * pad - HH) / stride
      W' = 1 + (W + 2 * pad - WW) / stride
    - cache: (x, w, b, conv_param)
    """
    out = None
    ###########################################################################
    # TODO: Implement the convolutional forward pass.                         #
    # Hint: you can use the function np.pad for padding.                      #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    pad = conv_param.get("pad", "0")
    stride = conv_param.get("stride", "1")
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0,0),(0,0),(pad, pad),(pad, pad)), constant_values=0)
    H_out = int(1 + (H + 2 * pad - HH) / stride)
    W_out = int(1 + (W + 2 * pad - WW) / stride)

    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            x_conv = x_pad[:,:,stride*i:stride*i+HH, stride*j:stride*j+WW] 
            out[:,:,i,j] = np.matmul(x_conv.reshape(N,-1), w.reshape(F,-1).transpose()) + b     

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a convolutional layer.

    Inputs:
    - dout: Upstream derivatives.
    - cache: A tuple of (x, w, b, conv_param) as in conv_forward_naive

    Returns a tuple of:
    - dx: Gradient with respect to x
    - dw: Gradient with respect to w
    - db: Gradient with respect to b
    """
    dx, dw, db = None, None, None
    ###########################################################################
    # TODO: Implement the convolutional backward pass.                        #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    x, w, b, conv_param = cache
    pad = conv_param.get("pad", "0")
    stride = conv_param.get("stride", "1")
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape

    x_pad = np.pad(x, ((0,0),(0,0),(pad, pad),(pad, pad)), constant_values=0)
    dx_pad = np.zeros((N,C,H+2*pad,W+2*pad))
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)
    for i in range(H_out):
        for j in range(W_out):
            indices = (slice(0,N), slice(0,C), slice(stride*i,stride*i+HH), slice(stride*j,stride*j+WW))
            dx_pad[indices] +=  np.matmul(dout[:,:,i,j], w.reshape(F,-1)).reshape(N,C, HH,WW)
            x_cov = x_pad[indices].reshape(N,-1)
            dw += np.matmul(dout[:,:,i,j].transpose(),x_cov).reshape(F,C,HH,WW) 
            db += np.sum(dout[:,:,i,j], axis=0) 
    dx = dx_pad[:,:, pad:H+pad, pad:W+pad]
    
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx, dw, db


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
import torch  # noqa: E402 - the wrapper's own import


def _np(t):
    """A numpy view of a CPU tensor (no copy: in-place writes reach the caller, as theirs would)."""
    return t.detach().cpu().numpy()


def conv_forward(x, w, b, stride=1, pad=0):
    """Their conv_param dict from the contract's stride and pad; tensors in, tensors out."""
    out, cache = conv_forward_naive(_np(x), _np(w), _np(b), {"stride": stride, "pad": pad})
    return torch.from_numpy(out).to(x.device), cache


def conv_backward(dout, cache):
    dx, dw, db = conv_backward_naive(_np(dout), cache)
    return tuple(torch.from_numpy(g).to(dout.device) for g in (dx, dw, db))
