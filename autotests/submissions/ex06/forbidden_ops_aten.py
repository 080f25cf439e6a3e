# expect: no_forbidden_calls fail aten::convolution
# expect: backward_dx fail forbidden operator
# Both passes call the aten operators directly through torch.ops.
import torch
import torch.nn.functional as F


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F_, _, HH, WW = w.shape
    x_pad = F.pad(x, (pad, pad, pad, pad))
    windows = x_pad.unfold(2, HH, stride).unfold(3, WW, stride)   # N, C, Ho, Wo, HH, WW
    H_out, W_out = windows.shape[2], windows.shape[3]
    x_cols = windows.permute(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, -1)
    out = torch.ops.aten.convolution(x_pad, w, b, [stride, stride], [0, 0], [1, 1], False, [0, 0], 1)
    return out, (x_pad, w, stride, pad, x_cols)


def conv_backward(dout, cache):
    x_pad, w, stride, pad, x_cols = cache
    N, C, Hp, Wp = x_pad.shape
    F_, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    dx_pad, dw, db = torch.ops.aten.convolution_backward(
        dout, x_pad, w, [F_], [stride, stride], [0, 0], [1, 1], False, [0, 0], 1,
        [True, True, True])
    dx = dx_pad[:, :, pad:Hp - pad, pad:Wp - pad]
    return dx, dw, db
