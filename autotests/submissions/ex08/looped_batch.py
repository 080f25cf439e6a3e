# expect: performance fail a Python loop over the batch
# expect: op_count fail loops in Python over the batch
# Correct attention, but one sequence of the batch at a time.
import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    N, T, _ = x.shape
    scale = 1.0 / math.sqrt(Wq.shape[1])
    out = x.new_empty((N, T, Wv.shape[1]))
    saved = []
    for n in range(N):
        Q, K, V = x[n] @ Wq, x[n] @ Wk, x[n] @ Wv
        S = Q @ K.T * scale
        if causal:
            S = S.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), -math.inf)
        E = torch.exp(S - S.max(dim=1, keepdim=True).values)
        A = E / E.sum(dim=1, keepdim=True)
        out[n] = A @ V
        saved.append((Q, K, V, A))
    return out, (x, Wq, Wk, Wv, saved)


def attention_backward(dout, cache):
    x, Wq, Wk, Wv, saved = cache
    scale = 1.0 / math.sqrt(Wq.shape[1])
    dx = torch.empty_like(x)
    dWq, dWk, dWv = torch.zeros_like(Wq), torch.zeros_like(Wk), torch.zeros_like(Wv)
    for n, (Q, K, V, A) in enumerate(saved):
        dA = dout[n] @ V.T
        dV = A.T @ dout[n]
        dS = A * (dA - (dA * A).sum(dim=1, keepdim=True)) * scale
        dQ, dK = dS @ K, dS.T @ Q
        dWq += x[n].T @ dQ
        dWk += x[n].T @ dK
        dWv += x[n].T @ dV
        dx[n] = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dx, dWq, dWk, dWv
