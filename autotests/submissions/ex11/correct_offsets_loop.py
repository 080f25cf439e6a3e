# expect: full
# A correct variant: a loop over the pool_height x pool_width window offsets only (each offset is
# one strided slice of every window at once); the backward pass marks where each window's
# maximum sat and adds the gradient there (values are distinct, so one offset per window).
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    Ho = 1 + (H - pool_height) // stride
    Wo = 1 + (W - pool_width) // stride
    out = None
    for p in range(pool_height):
        for q in range(pool_width):
            part = x[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride]
            out = part.clone() if out is None else torch.maximum(out, part)
    return out, (x, out, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, out, ph, pw, s = cache
    _, _, Ho, Wo = out.shape
    dx = torch.zeros_like(x)
    for p in range(ph):
        for q in range(pw):
            rows = slice(p, p + s * (Ho - 1) + 1, s)
            cols = slice(q, q + s * (Wo - 1) + 1, s)
            hit = x[:, :, rows, cols] == out
            dx[:, :, rows, cols] += hit * dout
    return dx
