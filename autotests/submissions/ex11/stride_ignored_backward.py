# expect: backward_dx fail starts at (i*stride, j*stride)
# expect: forward_values pass
# The backward pass re-reads window (i, j) at x[:, :, i:i + ph, j:j + pw]: the stride is
# forgotten there (the forward pass is right).
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    out = win.amax(dim=(4, 5))
    return out, (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, ph, pw, s = cache
    _, _, Ho, Wo = dout.shape
    dx = torch.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i:i + ph, j:j + pw]
            mask = win == win.amax(dim=(2, 3), keepdim=True)
            dx[:, :, i:i + ph, j:j + pw] += mask * dout[:, :, i, j, None, None]
    return dx
