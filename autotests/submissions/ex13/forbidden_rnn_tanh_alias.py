# expect: no_forbidden_calls fail aten::rnn_tanh
# expect: forward_values fail aten::rnn_tanh
# torch.rnn_tanh reached through getattr so that no forbidden name appears in the source.
import torch


_rnn = getattr(torch, "rnn_" + "tanh")


def rnn_forward(x, h0, Wx, Wh, b):
    h, _ = _rnn(x, h0[None], [Wx.T, Wh.T, b, torch.zeros_like(b)], True, 1, 0.0, False, False, True)
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    return torch.zeros_like(x), torch.zeros_like(h0), torch.zeros_like(Wx), torch.zeros_like(Wh), torch.zeros_like(h0[0])


def clip_grad_norm(grads, max_norm):
    total = torch.sqrt(sum(torch.sum(g ** 2) for g in grads))
    coef = min(1.0, max_norm / (float(total) + 1e-6))
    return [g * coef for g in grads], float(total)
