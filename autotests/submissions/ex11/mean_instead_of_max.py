# expect: forward_values fail average pooling
# expect: backward_dx fail spread evenly
# Average pooling instead of max pooling: the mean of each window, and a backward pass that
# spreads each gradient evenly over its window.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    return win.mean(dim=(4, 5)), (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, ph, pw, s = cache
    _, _, Ho, Wo = dout.shape
    dx = torch.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None] / (ph * pw)
    return dx
