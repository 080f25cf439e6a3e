# expect: edge_configs fail k // pool_height
# expect: forward_values pass
# (backward_dx fails too: with an IndexError or wrong values, depending on where the maxima fall)
# The flat argmax of a window is turned into (row, column) with pool_height instead of
# pool_width: right for square pools only.
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
            k = x[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(N, C, -1).argmax(dim=2)
            dx[n, c, i * s + k // ph, j * s + k % ph] += dout[:, :, i, j]
    return dx
