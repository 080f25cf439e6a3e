# expect: performance fail a Python loop over the batch
# expect: op_count fail loops in Python over the batch
# Correct, one sequence at a time with 2-D matrices, torch.softmax and a -1e9 mask.
import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    N, T, _ = x.shape
    outs, caches = [], []
    for n in range(N):
        q, k, v = x[n] @ Wq, x[n] @ Wk, x[n] @ Wv
        s = q @ k.T / math.sqrt(q.shape[1])
        if causal:
            for t in range(T):
                s[t, t + 1:] = -1e9
        a = torch.softmax(s, dim=1)
        outs.append(a @ v)
        caches.append((q, k, v, a))
    return torch.stack(outs), {"x": x, "W": (Wq, Wk, Wv), "per_seq": caches}


def attention_backward(dout, cache):
    x = cache["x"]
    Wq, Wk, Wv = cache["W"]
    dx = torch.zeros_like(x)
    dWq, dWk, dWv = torch.zeros_like(Wq), torch.zeros_like(Wk), torch.zeros_like(Wv)
    for n, (q, k, v, a) in enumerate(cache["per_seq"]):
        da = dout[n] @ v.T
        dv = a.T @ dout[n]
        ds = torch.zeros_like(a)
        for t in range(a.shape[0]):
            jac = torch.diag(a[t]) - torch.outer(a[t], a[t])
            ds[t] = jac @ da[t]
        ds = ds / math.sqrt(q.shape[1])
        dq, dk = ds @ k, ds.T @ q
        dWq += x[n].T @ dq
        dWk += x[n].T @ dk
        dWv += x[n].T @ dv
        dx[n] = dq @ Wq.T + dk @ Wk.T + dv @ Wv.T
    return dx, dWq, dWk, dWv
