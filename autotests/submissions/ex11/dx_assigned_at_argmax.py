# expect: backward_overlap fail overwrites
# expect: backward_dx pass
# expect: forward_values pass
# The gradient is written with "=" at each window's maximum (as in many CS231n solutions:
# dx[n, c, i*s + row, j*s + col] = dout[n, c, i, j]); an element that is the maximum of two
# overlapping windows keeps only the last one's gradient.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    out = win.amax(dim=(4, 5))
    return out, (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, ph, pw, s = cache
    N, C, H, W = x.shape
    _, _, Ho, Wo = dout.shape
    dx = torch.zeros_like(x)
    n = torch.arange(N)[:, None]
    c = torch.arange(C)[None, :]
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(N, C, -1)
            k = win.argmax(dim=2)
            dx[n, c, i * s + k // pw, j * s + k % pw] = dout[:, :, i, j]
    return dx
