# expect: stability fail finite
# expect: forward_values pass
# expect: forward_causal pass
# Masks the future with a finite -1000: a row whose visible scores are all below -1000 puts its
# weight on the future.
import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    T = x.shape[1]
    dk = Wq.shape[1]
    Q = x @ Wq
    K = x @ Wk
    V = x @ Wv
    S = Q @ K.transpose(1, 2) / math.sqrt(dk)
    if causal:
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
        S = S.masked_fill(mask, -1000.0)
    A = torch.softmax(S, dim=-1)
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
