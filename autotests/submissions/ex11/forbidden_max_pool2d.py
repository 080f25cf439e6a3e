# expect: no_forbidden_calls fail torch.nn.functional.max_pool2d
# expect: forward_values fail max_pool2d
# The forward pass is torch's own max_pool2d.
import torch
import torch.nn.functional as F


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    return F.max_pool2d(x, (pool_height, pool_width), stride), (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, ph, pw, s = cache
    _, _, Ho, Wo = dout.shape
    dx = torch.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
            mask = win == win.amax(dim=(2, 3), keepdim=True)
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += mask * dout[:, :, i, j, None, None]
    return dx

