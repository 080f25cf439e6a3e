# expect: full
# A correct variant written differently: the states are collected in a list and stacked; the
# backward pass keeps every step's da in a list, then computes dx and the weight gradients with
# einsum over all steps at once; clipping flattens all tensors into one vector and returns the
# norm as a 0-d tensor (the contract accepts it).
import torch


def rnn_forward(x, h0, Wx, Wh, b):
    states = []
    prev = h0
    for t in range(x.shape[1]):
        prev = torch.tanh(torch.addmm(b, x[:, t], Wx) + prev @ Wh)
        states.append(prev)
    h = torch.stack(states, dim=1)
    return h, {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "h": h}


def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = (cache[k] for k in ("x", "h0", "Wx", "Wh", "h"))
    T = x.shape[1]
    das = [None] * T
    carry = torch.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        das[t] = (dh[:, t] + carry) * (1.0 - h[:, t] * h[:, t])
        carry = das[t] @ Wh.T
    da = torch.stack(das, dim=1)                                  # (N, T, H)
    prev = torch.cat([h0[:, None, :], h[:, :-1, :]], dim=1)       # h_{t-1}
    dx = torch.einsum("nth,dh->ntd", da, Wx)
    dWx = torch.einsum("ntd,nth->dh", x, da)
    dWh = torch.einsum("ntk,nth->kh", prev, da)
    return dx, carry, dWx, dWh, da.sum(dim=(0, 1))


def clip_grad_norm(grads, max_norm):
    flat = torch.cat([g.reshape(-1) for g in grads])
    total = torch.linalg.vector_norm(flat)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [g * scale for g in grads], total
