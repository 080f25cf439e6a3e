# expect: forward_next_h fail the tanh is missing
# expect: forward_next_c pass
# expect: backward_numeric pass
# expect: backward_dx_dprev_h pass
# next_h = o * next_c: the tanh on the cell state is forgotten in the forward pass only. The
# backward is right, and is judged against the specification, not this forward (issue 12).
import torch


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H:2 * H])
    o = torch.sigmoid(a[:, 2 * H:3 * H])
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * next_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = torch.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    do = dnext_h * tc
    di = dc * g
    df = dc * prev_c
    dg = dc * i
    dprev_c = dc * f
    da = torch.cat([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)], dim=1)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(dim=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
