"""ex13's functions written with library code only: the timing reference of a clean process.

``rnn_forward`` is ``torch.rnn_tanh`` (the kernel of ``torch.nn.RNN`` with tanh) with the
contract's weights in PyTorch's layout; ``rnn_backward`` is torch autograd through it;
``clip_grad_norm`` is ``torch.nn.utils.clip_grad_norm_`` applied to copies. They take and return
what the student's functions do, so a reference process can load this module in place of a
submission. Nothing here is a hand-written recurrence or clipping rule.
"""
from __future__ import annotations

import torch


def _rnn(x, h0, Wx, Wh, b):
    h, _ = torch.rnn_tanh(x, h0.unsqueeze(0), [Wx.T, Wh.T, b, torch.zeros_like(b)], True, 1, 0.0,
                          False, False, True)
    return h


def rnn_forward(x, h0, Wx, Wh, b):
    """h (N, T, H) from torch.rnn_tanh; the cache is the inputs."""
    with torch.no_grad():
        return _rnn(x, h0, Wx, Wh, b), (x, h0, Wx, Wh, b)


def rnn_backward(dh, cache):
    """(dx, dh0, dWx, dWh, db): the vector-Jacobian product of torch.rnn_tanh with ``dh``."""
    leaves = [t.detach().requires_grad_(True) for t in cache]
    with torch.enable_grad():
        h = _rnn(*leaves)
        return tuple(torch.autograd.grad((h * dh).sum(), leaves))


def clip_grad_norm(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_ on copies: (new clipped tensors, total norm as a float)."""
    holders = [torch.zeros_like(g) for g in grads]
    for holder, g in zip(holders, grads):
        holder.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(holders, max_norm)
    return [h.grad for h in holders], float(total)
