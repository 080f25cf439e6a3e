# expect: full
# A correct variant: unfold + argmax in the forward pass; the backward pass builds the input
# coordinates of every maximum and accumulates with index_put_(..., accumulate=True).
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    Ho, Wo = win.shape[2], win.shape[3]
    out, arg = win.contiguous().view(N, C, Ho, Wo, -1).max(dim=4)
    return out, (x.shape, arg, pool_width, stride)


def maxpool_backward(dout, cache):
    shape, arg, pw, stride = cache
    N, C, H, W = shape
    Ho, Wo = arg.shape[2], arg.shape[3]
    dev = dout.device
    n = torch.arange(N, device=dev).view(N, 1, 1, 1).expand_as(arg)
    c = torch.arange(C, device=dev).view(1, C, 1, 1).expand_as(arg)
    r = torch.arange(Ho, device=dev).view(1, 1, Ho, 1) * stride + torch.div(arg, pw, rounding_mode="floor")
    k = torch.arange(Wo, device=dev).view(1, 1, 1, Wo) * stride + arg % pw
    dx = torch.zeros(shape, dtype=dout.dtype, device=dev)
    dx.index_put_((n, c, r, k), dout, accumulate=True)
    return dx
