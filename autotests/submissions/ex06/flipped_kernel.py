# expect: forward_values fail true convolution
# expect: backward_dw fail flipped
# expect: backward_dx fail true convolution
# expect: numerical_gradient fail central differences of the correct convolution
# A textbook (true) convolution: the kernel is flipped by 180 degrees, consistently in the forward
# and backward passes, so the gradients match the student's own forward but not conv2d's. The
# numerical check differentiates the oracle when the forward is wrong (issue 12): a backward that
# repeats its forward's mistake fails there too.
import torch
import torch.nn.functional as F


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F_, _, HH, WW = w.shape
    w = torch.flip(w, dims=(2, 3))  # convolution flips the kernel
    x_pad = F.pad(x, (pad, pad, pad, pad))
    windows = x_pad.unfold(2, HH, stride).unfold(3, WW, stride)   # N, C, Ho, Wo, HH, WW
    H_out, W_out = windows.shape[2], windows.shape[3]
    x_cols = windows.permute(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, -1)
    out = (x_cols @ w.reshape(F_, -1).T + b).reshape(N, H_out, W_out, F_).permute(0, 3, 1, 2)
    return out, (x_pad, w, stride, pad, x_cols)


def conv_backward(dout, cache):
    x_pad, w, stride, pad, x_cols = cache
    N, C, Hp, Wp = x_pad.shape
    F_, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    dout_mat = dout.permute(0, 2, 3, 1).reshape(-1, F_)
    dw = torch.flip((dout_mat.T @ x_cols).reshape(w.shape), dims=(2, 3))
    db = dout.sum(dim=(0, 2, 3))
    dcols = (dout_mat @ w.reshape(F_, -1)).reshape(N, H_out, W_out, C, HH, WW)
    dx_pad = torch.zeros_like(x_pad)
    for i in range(H_out):
        for j in range(W_out):
            dx_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += dcols[:, i, j]
    dx = dx_pad[:, :, pad:Hp - pad, pad:Wp - pad]
    return dx, dw, db
