# expect: edge_configs fail the output size is rounded
# expect: edge_configs fail crashed
# expect: forward_values pass
# expect: backward_dx pass
# The output size is rounded instead of floored: fine while the windows tile the padded input
# exactly, but one window too many (reading past the edge) when they do not.
import torch
import torch.nn.functional as F


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F_, _, HH, WW = w.shape
    H_out = 1 + round((H + 2 * pad - HH) / stride)
    W_out = 1 + round((W + 2 * pad - WW) / stride)
    x_pad = F.pad(x, (pad, pad, pad, pad))
    out = x.new_zeros(N, F_, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = torch.einsum("nchw,fchw->nf", window, w) + b
    return out, (x_pad, w, stride, pad)


def conv_backward(dout, cache):
    x_pad, w, stride, pad = cache
    _, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    dx_pad = torch.zeros_like(x_pad)
    dw = torch.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            rows = slice(i * stride, i * stride + HH)
            cols = slice(j * stride, j * stride + WW)
            dw += torch.einsum("nf,nchw->fchw", dout[:, :, i, j], x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += torch.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
    db = dout.sum(dim=(0, 2, 3))
    H, W = x_pad.shape[2] - 2 * pad, x_pad.shape[3] - 2 * pad
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
