# expect: full
# A correct variant: F.pad for the padding (allowed), then one loop over the HH*WW kernel offsets
# in the forward pass and the same loop in the backward pass (no im2col matrix): offset (p, q)
# of every window is one strided slice of x_pad, multiplied by the filters' (p, q) weights. The
# cache is a namedtuple read by attribute: it must come back to conv_backward as the object it was.
from collections import namedtuple

import torch
import torch.nn.functional as F

Cache = namedtuple("Cache", "x_pad w stride pad x_shape")


def _offset(x_pad, p, q, stride, H_out, W_out):
    """x_pad[n, c, i*stride + p, j*stride + q] for all n, c, i, j, as a (C, N*H_out*W_out) matrix."""
    patch = x_pad[:, :, p:p + stride * (H_out - 1) + 1:stride, q:q + stride * (W_out - 1) + 1:stride]
    return patch.transpose(0, 1).reshape(x_pad.shape[1], -1)


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F_, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = F.pad(x, (pad, pad, pad, pad))
    out = b[:, None].expand(F_, N * H_out * W_out).clone()             # (F, N*H_out*W_out)
    for p in range(HH):
        for q in range(WW):
            out += w[:, :, p, q] @ _offset(x_pad, p, q, stride, H_out, W_out)
    out = out.reshape(F_, N, H_out, W_out).transpose(0, 1).contiguous()
    return out, Cache(x_pad, w, stride, pad, x.shape)


def conv_backward(dout, cache):
    x_pad, w, stride, pad = cache.x_pad, cache.w, cache.stride, cache.pad
    H, W = cache.x_shape[2:]
    N, C = x_pad.shape[:2]
    F_, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    dout_mat = dout.transpose(0, 1).reshape(F_, -1)                    # (F, N*H_out*W_out)
    dx_pad = torch.zeros_like(x_pad)
    dw = torch.empty_like(w)
    for p in range(HH):
        for q in range(WW):
            dw[:, :, p, q] = dout_mat @ _offset(x_pad, p, q, stride, H_out, W_out).T
            grad = (w[:, :, p, q].T @ dout_mat).reshape(C, N, H_out, W_out).transpose(0, 1)
            dx_pad[:, :, p:p + stride * (H_out - 1) + 1:stride,
                   q:q + stride * (W_out - 1) + 1:stride] += grad
    db = dout.sum(dim=(0, 2, 3))
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
