# expect: performance fail output positions
# expect: op_count fail output positions
# expect: forward_values pass
# expect: backward_overlap pass
# Correct but slow: CS231n's "naive" layer, a Python loop over the output positions (vectorised
# over N and C only).
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    Ho = 1 + (H - pool_height) // stride
    Wo = 1 + (W - pool_width) // stride
    out = x.new_zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            out[:, :, i, j] = win.amax(dim=(2, 3))
    return out, (x, pool_height, pool_width, stride)


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
