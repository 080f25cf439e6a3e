# expect: full
# Correct, with logsumexp, torch.where for the mask, a dict cache and flattened weight gradients.
import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    Q, K, V = x @ Wq, x @ Wk, x @ Wv
    S = torch.matmul(Q, K.mT) * Q.shape[-1] ** -0.5
    if causal:
        T = S.shape[-1]
        keep = torch.tril(torch.ones(T, T, dtype=torch.bool, device=S.device))
        S = torch.where(keep, S, torch.tensor(float("-inf"), dtype=S.dtype, device=S.device))
    A = torch.exp(S - torch.logsumexp(S, dim=-1, keepdim=True))
    return torch.matmul(A, V), {"x": x, "Wq": Wq, "Wk": Wk, "Wv": Wv, "Q": Q, "K": K, "V": V, "A": A}


def attention_backward(dout, cache):
    x, A, Q, K, V = cache["x"], cache["A"], cache["Q"], cache["K"], cache["V"]
    scale = Q.shape[-1] ** -0.5
    dA = torch.matmul(dout, V.mT)
    dV = torch.matmul(A.mT, dout)
    dS = (A * dA - A * (A * dA).sum(-1, keepdim=True)) * scale
    dQ = torch.matmul(dS, K)
    dK = torch.matmul(dS.mT, Q)
    D = x.shape[-1]
    xf = x.reshape(-1, D)
    grads = [xf.T @ g.reshape(xf.shape[0], -1) for g in (dQ, dK, dV)]
    dx = dQ @ cache["Wq"].T + dK @ cache["Wk"].T + dV @ cache["Wv"].T
    return (dx, *grads)
