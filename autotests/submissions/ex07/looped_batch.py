# expect: performance fail a Python loop over the batch
# expect: op_count fail loops in Python over the batch
# Correct LSTM step, but each sample of the batch in its own Python iteration.
import torch


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    next_h = torch.empty_like(prev_h)
    next_c = torch.empty_like(prev_c)
    gates = []
    for n in range(N):
        a = x[n] @ Wx + prev_h[n] @ Wh + b
        i, f, o = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H]), torch.sigmoid(a[2 * H:3 * H])
        g = torch.tanh(a[3 * H:])
        next_c[n] = f * prev_c[n] + i * g
        next_h[n] = o * torch.tanh(next_c[n])
        gates.append((i, f, o, g))
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, next_c, gates)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, next_c, gates = cache
    dx, dprev_h, dprev_c = torch.empty_like(x), torch.empty_like(prev_h), torch.empty_like(prev_c)
    dWx, dWh = torch.zeros_like(Wx), torch.zeros_like(Wh)
    db = torch.zeros(Wx.shape[1], dtype=x.dtype, device=x.device)
    for n, (i, f, o, g) in enumerate(gates):
        tc = torch.tanh(next_c[n])
        dc = dnext_c[n] + dnext_h[n] * o * (1 - tc * tc)
        da = torch.cat([dc * g * i * (1 - i), dc * prev_c[n] * f * (1 - f),
                        dnext_h[n] * tc * o * (1 - o), dc * i * (1 - g * g)])
        dprev_c[n] = dc * f
        dx[n] = Wx @ da
        dprev_h[n] = Wh @ da
        dWx += torch.outer(x[n], da)
        dWh += torch.outer(prev_h[n], da)
        db += da
    return dx, dprev_h, dprev_c, dWx, dWh, db
