# expect: forward_values fail bias is missing
# expect: numerical_gradient pass
# expect: backward_db pass
# The bias is never added in the forward pass (db is still computed as the sum of dout). The
# backward is right, and the numerical check judges it against the correct convolution (issue 12).
import torch
import torch.nn.functional as F


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F_, _, HH, WW = w.shape
    x_pad = F.pad(x, (pad, pad, pad, pad))
    windows = x_pad.unfold(2, HH, stride).unfold(3, WW, stride)   # N, C, Ho, Wo, HH, WW
    H_out, W_out = windows.shape[2], windows.shape[3]
    x_cols = windows.permute(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, -1)
    out = (x_cols @ w.reshape(F_, -1).T).reshape(N, H_out, W_out, F_).permute(0, 3, 1, 2)
    return out, (x_pad, w, stride, pad, x_cols)


def conv_backward(dout, cache):
    x_pad, w, stride, pad, x_cols = cache
    N, C, Hp, Wp = x_pad.shape
    F_, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    dout_mat = dout.permute(0, 2, 3, 1).reshape(-1, F_)
    dw = (dout_mat.T @ x_cols).reshape(w.shape)
    db = dout.sum(dim=(0, 2, 3))
    dcols = (dout_mat @ w.reshape(F_, -1)).reshape(N, H_out, W_out, C, HH, WW)
    dx_pad = torch.zeros_like(x_pad)
    for i in range(H_out):
        for j in range(W_out):
            dx_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += dcols[:, i, j]
    dx = dx_pad[:, :, pad:Hp - pad, pad:Wp - pad]
    return dx, dw, db
