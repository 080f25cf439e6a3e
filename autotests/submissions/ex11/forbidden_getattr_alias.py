# expect: no_forbidden_calls fail aten::max_pool2d
# expect: forward_values fail aten::max_pool2d
# torch.max_pool2d reached through getattr, so no forbidden name appears in the source: the
# runtime guard refuses the operator.
import torch

_pool = getattr(torch, "max_" + "pool2d")


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    return _pool(x, (pool_height, pool_width), (stride, stride)), (x, pool_height, pool_width, stride)


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

