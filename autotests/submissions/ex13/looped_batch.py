# expect: performance fail the batch
# expect: op_count fail the batch
# expect: backward_weights pass
# Correct but slow: every step loops over the samples of the batch.
import torch


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = x.new_zeros((N, T, h0.shape[1]))
    for n in range(N):
        prev = h0[n]
        for t in range(T):
            prev = torch.tanh(x[n, t] @ Wx + prev @ Wh + b)
            h[n, t] = prev
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, D = x.shape
    H = h0.shape[1]
    dx = torch.zeros_like(x)
    dh0 = torch.zeros_like(h0)
    dWx, dWh, db = torch.zeros_like(Wx), torch.zeros_like(Wh), torch.zeros(H, dtype=dh.dtype, device=dh.device)
    for n in range(N):
        dnext = torch.zeros(H, dtype=dh.dtype, device=dh.device)
        for t in reversed(range(T)):
            prev = h0[n] if t == 0 else h[n, t - 1]
            da = (dh[n, t] + dnext) * (1 - h[n, t] ** 2)
            dx[n, t] = Wx @ da
            dWx += torch.outer(x[n, t], da)
            dWh += torch.outer(prev, da)
            db += da
            dnext = Wh @ da
        dh0[n] = dnext
    return dx, dh0, dWx, dWh, db


def clip_grad_norm(grads, max_norm):
    total = torch.sqrt(sum(torch.sum(g ** 2) for g in grads))
    coef = min(1.0, max_norm / (float(total) + 1e-6))
    return [g * coef for g in grads], float(total)
