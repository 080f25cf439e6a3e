# expect: no_forbidden_calls fail requires_grad_
# expect: backward_dx fail autograd
# The backward pass re-runs the forward with requires_grad_ and calls .backward(): autograd.
import torch
import torch.nn.functional as F


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F_, _, HH, WW = w.shape
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
    xp = x_pad.detach().clone().requires_grad_()
    wr = w.detach().clone().requires_grad_()
    br = torch.zeros(F_, dtype=w.dtype, device=w.device, requires_grad=True)
    out, _ = conv_forward(xp, wr, br, stride, 0)
    out.backward(dout)
    dx_pad, dw, db = xp.grad, wr.grad, br.grad
    dx = dx_pad[:, :, pad:Hp - pad, pad:Wp - pad]
    return dx, dw, db
