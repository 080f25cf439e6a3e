# expect: backward_dx fail every element of the window
# expect: forward_values pass
# The upstream gradient is added to every element of the window (no mask of the maximum).
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    out = win.amax(dim=(4, 5))
    return out, (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, ph, pw, s = cache
    _, _, Ho, Wo = dout.shape
    dx = torch.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None]
    return dx
