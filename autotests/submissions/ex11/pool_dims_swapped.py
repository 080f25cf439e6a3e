# expect: forward_values fail swapped
# unfold is called with the pool sizes the wrong way round: pool_width rows, pool_height columns.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    win = x.unfold(2, pool_width, stride).unfold(3, pool_height, stride)
    return win.amax(dim=(4, 5)), (x, pool_height, pool_width, stride)


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

