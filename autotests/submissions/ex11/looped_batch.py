# expect: performance fail the batch
# expect: op_count fail the batch
# expect: backward_dx pass
# Correct but slow: a Python loop over the images of the batch and their channels, each pooled
# with unfold.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    Ho = 1 + (H - pool_height) // stride
    Wo = 1 + (W - pool_width) // stride
    out = x.new_zeros((N, C, Ho, Wo))
    arg = torch.zeros((N, C, Ho, Wo), dtype=torch.long, device=x.device)
    for n in range(N):
        for c in range(C):
            win = x[n, c].unfold(0, pool_height, stride).unfold(1, pool_width, stride)
            out[n, c], arg[n, c] = win.reshape(Ho, Wo, -1).max(dim=2)
    return out, (x.shape, arg, pool_width, stride)


def maxpool_backward(dout, cache):
    (N, C, H, W), arg, pw, s = cache
    Ho, Wo = arg.shape[2], arg.shape[3]
    dx = dout.new_zeros((N, C, H * W))
    rows = torch.arange(Ho, device=dout.device)[:, None] * s
    cols = torch.arange(Wo, device=dout.device)[None, :] * s
    for n in range(N):
        for c in range(C):
            flat = (rows + arg[n, c] // pw) * W + cols + arg[n, c] % pw
            dx[n, c].index_add_(0, flat.reshape(-1), dout[n, c].reshape(-1))
    return dx.reshape(N, C, H, W)
