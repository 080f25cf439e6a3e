# expect: full
# Correct, with chunk, a hand-written stable sigmoid, einsum and a list cache.
import torch


def stable_sigmoid(z):
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    a = torch.addmm(b, x, Wx) + prev_h.mm(Wh)
    ai, af, ao, ag = a.chunk(4, dim=1)
    i, f, o, g = stable_sigmoid(ai), stable_sigmoid(af), stable_sigmoid(ao), ag.tanh()
    next_c = torch.addcmul(i * g, f, prev_c)
    tc = next_c.tanh()
    next_h = o * tc
    return next_h, next_c, [x, prev_h, prev_c, Wx, Wh, torch.stack([i, f, o, g]), tc]


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, gates, tc = cache
    i, f, o, g = gates.unbind(0)
    dc = dnext_c.clone()
    dc.addcmul_(dnext_h * o, 1 - tc.pow(2))
    local = torch.cat([g * i * (1 - i), prev_c * f * (1 - f), torch.zeros_like(o), i * (1 - g * g)], 1)
    da = local * dc.repeat(1, 4)
    H = o.shape[1]
    da[:, 2 * H:3 * H] = dnext_h * tc * o * (1 - o)
    dx = torch.einsum("nk,dk->nd", da, Wx)
    dprev_h = torch.einsum("nk,hk->nh", da, Wh)
    dWx = torch.einsum("nd,nk->dk", x, da)
    dWh = torch.einsum("nh,nk->hk", prev_h, da)
    return dx, dprev_h, dc * f, dWx, dWh, da.sum(0)
