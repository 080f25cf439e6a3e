# expect: forward_values fail not scaled
# expect: forward_causal fail not scaled
# expect: causality fail did not pass its correctness checks
# expect: backward_dWq_dWk fail sqrt(dk)
# Forgets the 1/sqrt(dk) in both passes (consistently).
import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    T = x.shape[1]
    dk = Wq.shape[1]
    Q = x @ Wq
    K = x @ Wk
    V = x @ Wv
    S = Q @ K.transpose(1, 2)
    if causal:
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
        S = S.masked_fill(mask, float("-inf"))
    S = S - S.max(dim=-1, keepdim=True).values
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
    dQ = dS @ K
    dK = dS.transpose(1, 2) @ Q
    dWq = torch.einsum("ntd,ntk->dk", x, dQ)
    dWk = torch.einsum("ntd,ntk->dk", x, dK)
    dWv = torch.einsum("ntd,ntk->dk", x, dV)
    dx = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dx, dWq, dWk, dWv
