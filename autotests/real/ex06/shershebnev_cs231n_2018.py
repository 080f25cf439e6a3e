# source: https://github.com/Shershebnev/cs231n_assignment2/blob/029899df8053f0010bcbc9507dead7a8dbabf273/cs231n/layers.py
# verdict: conv_forward correct (looped)
# verdict: conv_backward correct (looped)
"""CS231n 2018 naive convolution with four nested loops (floor division for the output size). The
backward computes dw from strided slices of the padded input, and dx with six nested loops that
pick, for every input position and window, the kernel entry that covers it (masks on the kernel
row and column): slow, and correct, including windows that do not tile the input.
"""
from builtins import range
import numpy as np


# ---- copied verbatim from Shershebnev/cs231n_assignment2 cs231n/layers.py (commit 029899df80) ----

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
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    stride = conv_param["stride"]
    pad = conv_param["pad"]
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    x_padded = np.pad(x, ((0,), (0,), (pad,), (pad,)), 'constant')
    for n in range(N):
        for f in range(F):
            for k in range(H_out):
                for l in range(W_out):
                    out[n, f, k, l] = np.sum(
                        x_padded[n, :, k * stride:k * stride + HH, l * stride:l * stride + WW] * w[f, :]) + b[f]
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
    x, w, b, conv_param = cache
    pad = conv_param["pad"]
    x_padded = np.pad(x, ((0,), (0,), (pad,), (pad,)), 'constant')
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    N, F, H_out, W_out = dout.shape
    stride = conv_param["stride"]
    dw = np.zeros((F, C, HH, WW))
    for f in range(F):
        for c in range(C):
            for hh in range(HH):
                for ww in range(WW):
                    x_padded_slice = x_padded[:, c, hh:hh + H_out * stride:stride, ww:ww + W_out * stride:stride]
                    dw[f, c, hh, ww] = np.sum(dout[:, f, :, :] * x_padded_slice)

    db = np.zeros((F))
    for f in range(F):
        db[f] = np.sum(dout[:, f, :, :])

    dx = np.zeros((N, C, H, W))
    for n in range(N):
        for hx in range(H):
            for wx in range(W):
                for f in range(F):
                    for h_out in range(H_out):
                        for w_out in range(W_out):
                            mask1 = np.zeros_like(w[f, ...])
                            mask2 = np.zeros_like(w[f, ...])
                            if hx + pad - h_out * stride < HH and hx + pad - h_out * stride >= 0:
                                mask1[:, hx + pad - h_out * stride, :] = 1.0
                            if wx + pad - w_out * stride < WW and wx + pad - w_out * stride >= 0:
                                mask2[:, :, wx + pad - w_out * stride] = 1.0
                            w_masked = np.sum(w[f, ...] * mask1 * mask2, axis=(1, 2))
                            dx[n, :, hx, wx] += dout[n, f, h_out, w_out] * w_masked
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
