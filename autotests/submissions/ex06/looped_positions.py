# expect: performance fail output positions
# expect: op_count fail loops in Python over output positions
# Correct, vectorised over the batch and the filters, but a Python loop over every output position
# (i, j), in the forward and the backward pass.
import torch


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    xp = x.new_zeros((N, C, H + 2 * pad, W + 2 * pad))
    xp[:, :, pad:pad + H, pad:pad + W] = x
    w_mat = w.reshape(F, -1)
    out = x.new_zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = window.reshape(N, -1) @ w_mat.T + b
    return out, (x, w, stride, pad)


def conv_backward(dout, cache):
    x, w, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = x.new_zeros((N, C, H + 2 * pad, W + 2 * pad))
    xp[:, :, pad:pad + H, pad:pad + W] = x
    dxp = torch.zeros_like(xp)
    w_mat = w.reshape(F, -1)
    dw = torch.zeros_like(w_mat)
    for i in range(H_out):
        for j in range(W_out):
            hs, ws = i * stride, j * stride
            d = dout[:, :, i, j]                                       # (N, F)
            dw += d.T @ xp[:, :, hs:hs + HH, ws:ws + WW].reshape(N, -1)
            dxp[:, :, hs:hs + HH, ws:ws + WW] += (d @ w_mat).reshape(N, C, HH, WW)
    return dxp[:, :, pad:pad + H, pad:pad + W].clone(), dw.reshape(w.shape), dout.sum(dim=(0, 2, 3))
