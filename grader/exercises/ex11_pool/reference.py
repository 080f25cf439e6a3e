"""ex11's functions written with library code only: the timing reference of a clean process.

``maxpool_forward`` is ``torch.nn.functional.max_pool2d``; ``maxpool_backward`` is torch
autograd through it (``max_pool2d_with_indices_backward``). They take and return what the
student's functions do (tensors on the input's device; ``(out, cache)`` and ``dx``), so a
reference process can load this module in place of a submission. Nothing here is a hand-written
pooling layer.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    """``F.max_pool2d(x, (pool_height, pool_width), stride)``; the cache is the arguments."""
    out = F.max_pool2d(x, (pool_height, pool_width), stride=stride)
    return out, (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    """dx = the vector-Jacobian product of max_pool2d with ``dout``, by autograd."""
    x, pool_height, pool_width, stride = cache
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = F.max_pool2d(leaf, (pool_height, pool_width), stride=stride)
        (dx,) = torch.autograd.grad((out * dout).sum(), (leaf,))
    return dx
