# expect: stability fail clamp
# expect: forward_values pass
# expect: forward_causal pass
# Clamps the scores to [-80, 80] so that exp cannot overflow: two large scores 1 apart become
# equal.
import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    T = x.shape[1]
    dk = Wq.shape[1]
    Q = x @ Wq
    K = x @ Wk
    V = x @ Wv
    S = (Q @ K.transpose(1, 2) / math.sqrt(dk)).clamp(-80.0, 80.0)
    if causal:
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
        S = S.masked_fill(mask, float("-inf"))
    E = torch.exp(S)
    A = E / E.sum(dim=-1, keepdim=True)
    out = A @ V
    return out, (x, Wq, Wk, Wv, Q, K, V, A)


def attention_backward(dout, cache):
    x, Wq, Wk, Wv, Q, K, V, A = cache
    dk = Wq.shape[1]
    dA = dout @ V.transpose(1, 2)
    dV = A.transpose(1, 2) @ dout
    dS = A * (dA - (dA * A).sum(dim=-1, keepdim=True))
    dS = dS / math.sqrt(dk)
    dQ = dS @ K
    dK = dS.transpose(1, 2) @ Q
    dWq = torch.einsum("ntd,ntk->dk", x, dQ)
    dWk = torch.einsum("ntd,ntk->dk", x, dK)
    dWv = torch.einsum("ntd,ntk->dk", x, dV)
    dx = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dx, dWq, dWk, dWv
