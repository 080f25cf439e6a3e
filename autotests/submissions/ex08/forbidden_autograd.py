# expect: no_forbidden_calls fail requires_grad
# expect: backward_dx fail
# Computes the gradients with autograd instead of by hand.
import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    params = [t.detach().clone().requires_grad_(True) for t in (x, Wq, Wk, Wv)]
    xx, q_w, k_w, v_w = params
    S = (xx @ q_w) @ (xx @ k_w).transpose(1, 2) / math.sqrt(Wq.shape[1])
    if causal:
        T = x.shape[1]
        S = S.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    out = torch.softmax(S, dim=-1) @ (xx @ v_w)
    return out.detach(), (out, params)


def attention_backward(dout, cache):
    out, params = cache
    out.backward(dout)
    return tuple(p.grad for p in params)
