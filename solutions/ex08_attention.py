"""Exercise 08 -- single-head scaled dot-product self-attention.

What this exercise teaches
--------------------------
Self-attention lets every position of a sequence look at every other one.
Each input vector is projected to a query, a key and a value; the attention
weights are a softmax over the query-key dot products, scaled by 1/sqrt(dk)
so that the scores do not grow with the key dimension::

    Q = x @ Wq,  K = x @ Wk,  V = x @ Wv
    S = Q @ K^T / sqrt(dk)                 (N, T, T)
    A = softmax(S) over the last axis
    out = A @ V                            (N, T, dv)

With a *causal* mask (decoder self-attention) position t may attend only to
positions <= t: the scores above the diagonal are set to -inf before the
softmax, so they get weight exactly 0. The softmax is made stable by
subtracting each row's maximum before exponentiating (softmax is invariant to
that shift). In the backward pass the softmax Jacobian gives

    dS = A * (dA - sum(dA * A, axis=-1)),

which is automatically zero at masked positions because A is zero there.

The layer follows the CS231n ``layers.py`` style: forward returns
``(out, cache)``, backward takes ``(dout, cache)``.

Source
------
A. Vaswani, N. Shazeer, N. Parmar, J. Uszkoreit, L. Jones, A. N. Gomez,
L. Kaiser and I. Polosukhin, "Attention Is All You Need", NeurIPS 2017,
section 3.2.1 (scaled dot-product attention) and 3.2.3 (masking).
"""

import math

import torch


def attention_forward(x, Wq, Wk, Wv, causal=False):
    """Forward pass of single-head scaled dot-product self-attention.

    Formula::

        Q, K, V = x @ Wq, x @ Wk, x @ Wv
        S = Q @ K^T / sqrt(dk);  if causal: S[:, t, s] = -inf for s > t
        A = exp(S - max_s S) / sum_s exp(S - max_s S)
        out = A @ V

    Args:
        x: torch.Tensor (N, T, D), float64 on CPU or float32 on CUDA -- the
            input sequence. Not modified.
        Wq: torch.Tensor (D, dk) -- query projection.
        Wk: torch.Tensor (D, dk) -- key projection.
        Wv: torch.Tensor (D, dv) -- value projection.
        causal: bool, default False -- if True, position t attends only to
            positions 0..t.

    Returns:
        (out, cache):
            out: torch.Tensor (N, T, dv) on x's device and dtype.
            cache: tuple ``(x, Wq, Wk, Wv, Q, K, V, A)`` for the backward
                pass.

    Raises:
        Nothing.

    Source: Vaswani et al. (2017), "Attention Is All You Need", eq. (1).

    Hint: build the mask with ``torch.ones(T, T, dtype=torch.bool,
    device=x.device).triu(1)`` and ``S.masked_fill(mask, float('-inf'))``;
    then subtract ``S.amax(dim=-1, keepdim=True)`` before ``torch.exp``. A
    causal row is never fully masked (t always sees itself), so no NaN
    appears.
    """
    # TODO: project x to Q, K, V, compute the scaled scores (masked if causal), a stable softmax, and the weighted sum of values
    ### BEGIN SOLUTION
    T = x.shape[1]
    dk = Wq.shape[1]

    Q = x @ Wq                                     # (N, T, dk)
    K = x @ Wk                                     # (N, T, dk)
    V = x @ Wv                                     # (N, T, dv)

    S = Q @ K.transpose(-2, -1) / math.sqrt(dk)    # (N, T, T)
    if causal:
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        S = S.masked_fill(future, float('-inf'))

    # Stable softmax over the last axis: subtract the row maximum first.
    S = S - S.amax(dim=-1, keepdim=True)
    E = torch.exp(S)                               # exp(-inf) = 0 at masked positions
    A = E / E.sum(dim=-1, keepdim=True)

    out = A @ V                                    # (N, T, dv)
    cache = (x, Wq, Wk, Wv, Q, K, V, A)
    return out, cache
    ### END SOLUTION


def attention_backward(dout, cache):
    """Backward pass of single-head scaled dot-product self-attention.

    Formula::

        dA = dout @ V^T                 dV = A^T @ dout
        dS = A * (dA - sum(dA * A, axis=-1, keepdims=True)) / sqrt(dk)
        dQ = dS @ K                     dK = dS^T @ Q
        dWq = sum_n x^T @ dQ,  dWk = sum_n x^T @ dK,  dWv = sum_n x^T @ dV
        dx = dQ @ Wq^T + dK @ Wk^T + dV @ Wv^T

    Args:
        dout: torch.Tensor (N, T, dv), float64 on CPU or float32 on CUDA --
            the upstream gradient. Not modified.
        cache: tuple from ``attention_forward``.

    Returns:
        (dx, dWq, dWk, dWv):
            dx: torch.Tensor (N, T, D)
            dWq: torch.Tensor (D, dk)
            dWk: torch.Tensor (D, dk)
            dWv: torch.Tensor (D, dv)

    Raises:
        Nothing.

    Source: Vaswani et al. (2017), "Attention Is All You Need"; the softmax
    Jacobian diag(a) - a a^T applied row by row.

    Hint: the weight gradients sum over the batch too: flatten x to
    (N*T, D) and the gradient to (N*T, dk) before one matrix product. x is
    used three times, so dx is the sum of three terms.
    """
    # TODO: backpropagate through out = A @ V, the softmax, the 1/sqrt(dk) scaling and the three projections
    ### BEGIN SOLUTION
    x, Wq, Wk, Wv, Q, K, V, A = cache
    N, T, D = x.shape
    dk = Wq.shape[1]

    # out = A @ V
    dA = dout @ V.transpose(-2, -1)                # (N, T, T)
    dV = A.transpose(-2, -1) @ dout                # (N, T, dv)

    # Softmax backward, row by row; zero where A is zero (masked positions).
    dS = A * (dA - (dA * A).sum(dim=-1, keepdim=True))
    dS = dS / math.sqrt(dk)

    # S = Q @ K^T
    dQ = dS @ K                                    # (N, T, dk)
    dK = dS.transpose(-2, -1) @ Q                  # (N, T, dk)

    # Q, K, V = x @ Wq, x @ Wk, x @ Wv  (weights shared over N and T)
    x_flat = x.reshape(N * T, D)
    dWq = x_flat.T @ dQ.reshape(N * T, -1)
    dWk = x_flat.T @ dK.reshape(N * T, -1)
    dWv = x_flat.T @ dV.reshape(N * T, -1)
    dx = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dx, dWq, dWk, dWv
    ### END SOLUTION
