# expect: backward_dx fail stride > 1
# expect: backward_dw fail stride
# expect: forward_values pass
# expect: backward_db pass
# expect: numerical_gradient fail central differences of your conv_forward
# The forward uses the stride, the backward forgets it: window (i, j) is taken at (i, j).
import torch


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    out = torch.zeros(N, F, H_out, W_out, dtype=x.dtype, device=x.device)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = torch.einsum("nchw,fchw->nf", window, w) + b
    return out, (x, w, b, stride, pad)


def conv_backward(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dx_pad = torch.zeros_like(x_pad)
    dw = torch.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i:i + HH, j:j + WW]
            dw += torch.einsum("nf,nchw->fchw", dout[:, :, i, j], window)
            dx_pad[:, :, i:i + HH, j:j + WW] += torch.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
    db = dout.sum(dim=(0, 2, 3))
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
