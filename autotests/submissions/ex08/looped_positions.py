# expect: performance fail positions
# expect: op_count fail loops in Python over positions
# Correct attention, vectorised over the batch, but each query position t in its own iteration.
import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    N, T, _ = x.shape
    scale = 1.0 / math.sqrt(Wq.shape[1])
    Q, K, V = x @ Wq, x @ Wk, x @ Wv
    A = x.new_zeros((N, T, T))
    out = x.new_empty((N, T, Wv.shape[1]))
    for t in range(T):
        last = t + 1 if causal else T
        s = (K[:, :last] @ Q[:, t].unsqueeze(-1)).squeeze(-1) * scale      # (N, last)
        e = torch.exp(s - s.max(dim=1, keepdim=True).values)
        a = e / e.sum(dim=1, keepdim=True)
        A[:, t, :last] = a
        out[:, t] = (a.unsqueeze(1) @ V[:, :last]).squeeze(1)
    return out, (x, Wq, Wk, Wv, Q, K, V, A)


def attention_backward(dout, cache):
    x, Wq, Wk, Wv, Q, K, V, A = cache
    T = x.shape[1]
    scale = 1.0 / math.sqrt(Wq.shape[1])
    dQ, dK, dV = torch.zeros_like(Q), torch.zeros_like(K), torch.zeros_like(V)
    for t in range(T):
        a = A[:, t]                                                       # (N, T)
        dV += a.unsqueeze(-1) * dout[:, t].unsqueeze(1)
        da = (V @ dout[:, t].unsqueeze(-1)).squeeze(-1)
        ds = a * (da - (da * a).sum(dim=1, keepdim=True)) * scale
        dQ[:, t] = (ds.unsqueeze(1) @ K).squeeze(1)
        dK += ds.unsqueeze(-1) * Q[:, t].unsqueeze(1)
    xf = x.reshape(-1, x.shape[-1])
    dWq = xf.T @ dQ.reshape(xf.shape[0], -1)
    dWk = xf.T @ dK.reshape(xf.shape[0], -1)
    dWv = xf.T @ dV.reshape(xf.shape[0], -1)
    return dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T, dWq, dWk, dWv
