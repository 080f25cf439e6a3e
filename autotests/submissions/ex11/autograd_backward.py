# expect: no_forbidden_calls fail requires_grad_
# expect: backward_dx fail autograd
# The backward pass re-runs its own forward with requires_grad_ and asks autograd for dx.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    return win.amax(dim=(4, 5)), (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, ph, pw, s = cache
    xg = x.detach().clone().requires_grad_()
    out, _ = maxpool_forward(xg, ph, pw, s)
    (out * dout).sum().backward()
    return xg.grad
