# expect: performance fail a Python loop over the hidden units
# expect: op_count fail loops in Python over the hidden units
# Correct LSTM step, vectorised over the batch, but the gates are computed one hidden unit at a time.
import torch


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    next_c = torch.empty_like(prev_c)
    next_h = torch.empty_like(prev_h)
    act = torch.empty_like(a)
    for j in range(H):
        i = torch.sigmoid(a[:, j])
        f = torch.sigmoid(a[:, H + j])
        o = torch.sigmoid(a[:, 2 * H + j])
        g = torch.tanh(a[:, 3 * H + j])
        act[:, j], act[:, H + j], act[:, 2 * H + j], act[:, 3 * H + j] = i, f, o, g
        next_c[:, j] = f * prev_c[:, j] + i * g
        next_h[:, j] = o * torch.tanh(next_c[:, j])
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, act, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, act, next_c = cache
    H = prev_h.shape[1]
    da = torch.empty_like(act)
    dprev_c = torch.empty_like(prev_c)
    for j in range(H):
        i, f, o, g = act[:, j], act[:, H + j], act[:, 2 * H + j], act[:, 3 * H + j]
        tc = torch.tanh(next_c[:, j])
        dc = dnext_c[:, j] + dnext_h[:, j] * o * (1 - tc * tc)
        da[:, j] = dc * g * i * (1 - i)
        da[:, H + j] = dc * prev_c[:, j] * f * (1 - f)
        da[:, 2 * H + j] = dnext_h[:, j] * tc * o * (1 - o)
        da[:, 3 * H + j] = dc * i * (1 - g * g)
        dprev_c[:, j] = dc * f
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(dim=0)
