# expect: backward_saturated fail exp
# expect: backward_dweights pass
# expect: forward_saturated pass
# sigmoid' written as exp(-a) / (1 + exp(-a))**2 from the saved pre-activations: inf/inf = nan.
import torch


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H:2 * H])
    o = torch.sigmoid(a[:, 2 * H:3 * H])
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * torch.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c, a)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c, a = cache
    H = i.shape[1]

    def dsig(z):
        return torch.exp(-z) / (1 + torch.exp(-z)) ** 2

    tc = torch.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    do = dnext_h * tc
    di = dc * g
    df = dc * prev_c
    dg = dc * i
    dprev_c = dc * f
    da = torch.cat([di * dsig(a[:, :H]), df * dsig(a[:, H:2 * H]), do * dsig(a[:, 2 * H:3 * H]), dg * (1 - g ** 2)], dim=1)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(dim=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
