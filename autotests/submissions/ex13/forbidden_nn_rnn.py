# expect: no_forbidden_calls fail torch.nn.RNN
# expect: forward_values fail forbidden
# The forward pass is torch.nn.RNN with the weights copied in.
import torch


def rnn_forward(x, h0, Wx, Wh, b):
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=x.dtype, device=x.device)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(Wx.T)
        rnn.weight_hh_l0.copy_(Wh.T)
        rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
        h, _ = rnn(x, h0[None])
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    x, h0, Wx, Wh, h = cache
    D = x.shape[2]
    dx = dh.new_zeros((N, T, D))
    dWx, dWh, db = dh.new_zeros((D, H)), dh.new_zeros((H, H)), dh.new_zeros(H)
    dprev_h = dh.new_zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def clip_grad_norm(grads, max_norm):
    total = torch.sqrt(sum(torch.sum(g ** 2) for g in grads))
    coef = min(1.0, max_norm / (float(total) + 1e-6))
    return [g * coef for g in grads], float(total)
