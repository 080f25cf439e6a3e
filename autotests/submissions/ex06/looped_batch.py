# expect: performance fail a Python loop over the batch
# expect: op_count fail loops in Python over the batch
# Correct im2col convolution, but one sample at a time: a Python loop over the batch in both passes.
import torch


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    w_mat = w.reshape(F, -1)
    out = x.new_zeros((N, F, H_out, W_out))
    cols = []
    for n in range(N):
        xp = x.new_zeros((C, H + 2 * pad, W + 2 * pad))
        xp[:, pad:pad + H, pad:pad + W] = x[n]
        col = xp.unfold(1, HH, stride).unfold(2, WW, stride)          # (C, H_out, W_out, HH, WW)
        col = col.permute(1, 2, 0, 3, 4).reshape(H_out * W_out, -1)
        out[n] = (col @ w_mat.T + b).T.reshape(F, H_out, W_out)
        cols.append(col)
    return out, (x.shape, w, stride, pad, cols)


def conv_backward(dout, cache):
    (N, C, H, W), w, stride, pad, cols = cache
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    w_mat = w.reshape(F, -1)
    dx = dout.new_zeros((N, C, H, W))
    dw = torch.zeros_like(w_mat)
    db = dout.sum(dim=(0, 2, 3))
    for n in range(N):
        d = dout[n].reshape(F, -1).T                                   # (H_out*W_out, F)
        dw += d.T @ cols[n]
        dcol = (d @ w_mat).reshape(H_out, W_out, C, HH, WW)
        dxp = dout.new_zeros((C, H + 2 * pad, W + 2 * pad))
        for p in range(HH):
            for q in range(WW):
                dxp[:, p:p + stride * (H_out - 1) + 1:stride, q:q + stride * (W_out - 1) + 1:stride] \
                    += dcol[:, :, :, p, q].permute(2, 0, 1)
        dx[n] = dxp[:, pad:pad + H, pad:pad + W]
    return dx, dw.reshape(w.shape), db
