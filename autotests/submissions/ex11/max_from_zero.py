# expect: forward_values fail starts from 0
# The running maximum over the window offsets starts from a zero buffer, so a window of negative
# numbers gives 0.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    Ho = 1 + (H - pool_height) // stride
    Wo = 1 + (W - pool_width) // stride
    out = x.new_zeros((N, C, Ho, Wo))
    for p in range(pool_height):
        for q in range(pool_width):
            part = x[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride]
            out = torch.maximum(out, part)
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

