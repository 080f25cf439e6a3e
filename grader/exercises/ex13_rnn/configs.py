"""ex13 shapes, seeded inputs and the oracles (torch's own RNN and clipping, grader side).

The RNN oracle is ``torch.rnn_tanh`` (the kernel of ``torch.nn.RNN`` with ``nonlinearity="tanh"``)
with the contract's weights mapped onto PyTorch's layout (``weight_ih = Wx.T``, ``weight_hh =
Wh.T``, ``bias_ih = b``, ``bias_hh = 0``, ``batch_first``), and its gradients are torch autograd
through it, in float64 on the CPU. The clipping oracle is ``torch.nn.utils.clip_grad_norm_`` on
copies. torch is imported only when a check runs.
"""
from __future__ import annotations

import numpy as np

FWD, BWD, CLIP = "rnn_forward", "rnn_backward", "clip_grad_norm"
FWD_PARAMS = ("x", "h0", "Wx", "Wh", "b")
GRADS = ("dx", "dh0", "dWx", "dWh", "db")
#: (N, T, D, H) of the value checks: T from 1 to 12, D != H everywhere (so Wx and Wh cannot be
#: confused), N = 1 and H = 1 among them.
CONFIGS = ((3, 5, 4, 6), (1, 1, 3, 2), (2, 10, 3, 4), (4, 3, 5, 1), (2, 12, 2, 3))
#: (N, T, D, H) with T >= 3 for the gradient that reaches early steps only through later ones.
LONG = ((2, 6, 3, 4), (3, 11, 4, 2))
#: Pre-activations of the saturated cases: about 1e3..1e4 on half of the hidden units.
SATURATION = (1e3, 1e4)


def make_inputs(rng: np.random.Generator, n: int, t: int, d: int, h: int) -> dict:
    """Float64 inputs with pre-activations of order 1 (tanh far from saturation, so every
    mistake shows) and a non-symmetric Wh (so Wh and Wh.T differ)."""
    return {"x": rng.normal(size=(n, t, d)), "h0": np.tanh(rng.normal(size=(n, h))),
            "Wx": rng.normal(size=(d, h)) / np.sqrt(d), "Wh": rng.normal(size=(h, h)) * 0.9 / np.sqrt(h),
            "b": rng.normal(size=(h,)) * 0.5}


def saturated_inputs(rng: np.random.Generator, n: int, t: int, d: int, h: int) -> dict:
    """Inputs whose pre-activations are 1e3..1e4 in size on the first half of the hidden units
    (rounded up), of order 1 on the others: tanh written with exp overflows there (inf/inf), while
    the gradient still flows through the other units."""
    inp = make_inputs(rng, n, t, d, h)
    k = (h + 1) // 2
    inp["b"][:k] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(*SATURATION, size=k)
    return inp


def args(inp: dict) -> tuple:
    return tuple(inp[k] for k in FWD_PARAMS)


def describe(inp: dict, extra: str = "") -> str:
    n, t, d = inp["x"].shape
    return f"N={n}, T={t}, D={d}, H={inp['h0'].shape[1]}{extra}"


def rnn_oracle(inp: dict, dh: np.ndarray | None = None) -> dict:
    """``torch.rnn_tanh`` on the contract's inputs in float64 and, with ``dh`` (N, T, H), the
    gradients autograd gives for the loss sum(dh * h).

    Returns:
        dict with ``h`` (N, T, H) and, with ``dh``, ``dx``, ``dh0``, ``dWx``, ``dWh``, ``db``
        (numpy float64, the contract's layouts).
    """
    import torch
    want = dh is not None
    leaves = {k: torch.tensor(inp[k], dtype=torch.float64, requires_grad=want) for k in FWD_PARAMS}
    with torch.set_grad_enabled(want):
        x, h0, Wx, Wh, b = (leaves[k] for k in FWD_PARAMS)
        h, _ = torch.rnn_tanh(x, h0.unsqueeze(0), [Wx.T, Wh.T, b, torch.zeros_like(b)], True, 1,
                              0.0, False, False, True)
        out = {"h": h.detach().numpy().copy()}
        if not want:
            return out
        grads = torch.autograd.grad((h * torch.from_numpy(np.asarray(dh, np.float64))).sum(),
                                    [leaves[k] for k in FWD_PARAMS])
    out.update({name: g.numpy().copy() for name, g in zip(GRADS, grads)})
    return out


def clip_oracle(grads: list, max_norm: float) -> tuple[list, float]:
    """``torch.nn.utils.clip_grad_norm_`` (norm type 2) on float64 copies of ``grads``:
    ``(clipped arrays, total_norm)``."""
    import torch
    holders = [torch.zeros(np.shape(g), dtype=torch.float64) for g in grads]
    for holder, g in zip(holders, grads):
        holder.grad = torch.tensor(g, dtype=torch.float64)
    total = torch.nn.utils.clip_grad_norm_(holders, max_norm)
    return [h.grad.numpy().copy() for h in holders], float(total)


def clip_cases(rng: np.random.Generator) -> list[tuple[str, list, float]]:
    """(description, grads, max_norm) for clip_grad_norm: above and below max_norm, one tensor,
    a big and a small tensor (where clipping each by its own norm differs), norms of order 1e-6
    (where the 1e-6 of the denominator matters, also when the norm is just under max_norm) and
    all zeros."""
    big = [rng.normal(size=(4, 5)), rng.normal(size=(5,)), rng.normal(size=(3, 3))]
    tiny = [rng.normal(size=(3,)), rng.normal(size=(2, 2))]
    tiny_norm = 2e-6        # exactly: then the 1e-6 changes the factor by a third on every seed
    scale = tiny_norm / float(np.sqrt(sum(np.sum(g * g) for g in tiny)))
    tiny = [g * scale for g in tiny]
    return [
        ("three tensors whose norm is above max_norm", big, 1.0),
        ("the same tensors, below max_norm (unchanged)", [g.copy() for g in big], 100.0),
        ("one tensor", [rng.normal(size=(6,)) * 2.0], 2.0),
        ("a large and a small tensor", [rng.normal(size=(3, 4)) * 10.0, rng.normal(size=(2,)) * 0.1], 1.0),
        ("norm of order 1e-6, max_norm below it", tiny, 0.5 * tiny_norm),
        ("norm of order 1e-6, max_norm just above it (the 1e-6 still scales)",
         [g.copy() for g in tiny], 1.25 * tiny_norm),
        ("all zeros", [np.zeros((3,)), np.zeros((2, 2))], 1.0),
    ]
