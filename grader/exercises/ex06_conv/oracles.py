"""ex06's configurations and oracle: the layer's shapes, seeded inputs, and torch's conv2d.

The oracle is ``torch.nn.functional.conv2d`` and its autograd, computed in the grader process in
float64 on the CPU (never in the student's process).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grader.checks.compare import describe_shape

FORWARD = "conv_forward"
BACKWARD = "conv_backward"


# -- configurations -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """One layer configuration: input (N, C, H, W), filters (F, C, HH, WW), stride and pad."""

    N: int
    C: int
    H: int
    W: int
    F: int
    HH: int
    WW: int
    stride: int
    pad: int

    @property
    def x_shape(self) -> tuple:
        return (self.N, self.C, self.H, self.W)

    @property
    def w_shape(self) -> tuple:
        return (self.F, self.C, self.HH, self.WW)

    @property
    def out_hw(self) -> tuple:
        """(H_out, W_out) with the floor of the contract."""
        return (1 + (self.H + 2 * self.pad - self.HH) // self.stride,
                1 + (self.W + 2 * self.pad - self.WW) // self.stride)

    @property
    def out_shape(self) -> tuple:
        return (self.N, self.F) + self.out_hw

    @property
    def overlaps(self) -> bool:
        """True when neighbouring windows share input elements (stride < kernel size)."""
        Ho, Wo = self.out_hw
        return (self.stride < self.HH and Ho > 1) or (self.stride < self.WW and Wo > 1)

    @property
    def floors(self) -> bool:
        """True when the windows do not tile the padded input exactly (the floor matters)."""
        return bool((self.H + 2 * self.pad - self.HH) % self.stride
                    or (self.W + 2 * self.pad - self.WW) % self.stride)

    def describe(self) -> str:
        return (f"x {describe_shape(np.empty(self.x_shape))}, w {describe_shape(np.empty(self.w_shape))}, "
                f"b ({self.F},), stride={self.stride}, pad={self.pad}")


#: Main configurations: windows tile the padded input exactly. Order matters for messages when a
#: submission raises: simple cases first, so "raised on the first non-square kernel" is telling.
CONFIGS = (
    Config(2, 3, 6, 6, 4, 3, 3, 1, 0),
    Config(2, 3, 7, 5, 4, 3, 3, 1, 1),
    Config(1, 2, 5, 5, 3, 3, 3, 1, 2),
    Config(2, 3, 9, 7, 4, 3, 3, 2, 1),
    Config(2, 2, 9, 12, 3, 3, 3, 3, 0),
    Config(3, 2, 6, 8, 3, 2, 4, 1, 2),
    Config(2, 2, 8, 10, 3, 2, 4, 2, 0),
    Config(2, 3, 10, 7, 5, 4, 1, 2, 2),
    Config(1, 3, 7, 9, 2, 3, 2, 3, 1),
)

#: Edge configurations: output sizes that need the floor, N = C = F = 1, 1x1 kernels, a kernel as
#: large as the padded input, pad = 2 around a 3x3 input, kernels larger than the unpadded input
#: (but not than the padded one).
EDGE_CONFIGS = (
    Config(1, 2, 8, 8, 3, 3, 3, 3, 0),     # 5/3: H_out = 2 (rounding gives 3)
    Config(2, 1, 7, 9, 2, 2, 3, 2, 1),     # 7/2 and 8/2
    Config(1, 3, 7, 6, 2, 3, 4, 3, 2),     # 8/3 and 6/3
    Config(1, 1, 6, 5, 1, 2, 2, 2, 1),     # N = C = F = 1, 6/2 and 5/2
    Config(2, 3, 5, 4, 2, 1, 1, 2, 0),     # 1x1 kernel, stride 2: whole columns never read
    Config(2, 2, 4, 5, 3, 4, 5, 1, 0),     # kernel = input: a 1x1 output
    Config(1, 2, 3, 3, 2, 3, 3, 2, 2),     # pad 2 on a 3x3 input, stride 2
    Config(2, 2, 3, 3, 2, 5, 4, 1, 1),     # kernel larger than x, not than x_pad: 1x2 output
    Config(1, 2, 2, 4, 3, 4, 3, 2, 1),     # the same with stride 2: 1x2 output
)

#: Tiny shape for a full Jacobian check (every entry of x, w and b).
TINY = Config(1, 2, 4, 3, 2, 2, 3, 2, 1)
#: Realistic shape for random coordinates plus directional derivatives.
REALISTIC = Config(2, 3, 9, 7, 4, 3, 3, 2, 1)


def _inputs(rng: np.random.Generator, cfg: Config) -> dict:
    """Seeded float64 inputs for ``cfg``: x, w, b and an upstream gradient dout."""
    return {"x": rng.normal(size=cfg.x_shape),
            "w": rng.normal(size=cfg.w_shape) / math.sqrt(cfg.C * cfg.HH * cfg.WW),
            "b": rng.normal(size=(cfg.F,)),
            "dout": rng.normal(size=cfg.out_shape)}


# -- oracles (grader process, float64, CPU) -------------------------------------------------------
def conv_oracle(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int,
                pad: int | tuple, dout: np.ndarray | None = None):
    """``torch.nn.functional.conv2d`` in float64 on the CPU, with its autograd gradients.

    Args:
        x (N, C, H, W), w (F, C, HH, WW), b (F,): float64 arrays.
        stride: int. pad: int (every side) or (top, bottom, left, right) for diagnostics.
        dout: upstream gradient (N, F, H_out, W_out), or None for the forward only.

    Returns:
        out (N, F, H_out, W_out) when ``dout`` is None, else (out, dx, dw, db) as float64 arrays.
    """
    import torch
    if not isinstance(pad, int):
        top, bottom, left, right = pad
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        pad = 0
    xt, wt, bt = (torch.tensor(np.array(a, dtype=np.float64), requires_grad=dout is not None)
                  for a in (x, w, b))
    with torch.set_grad_enabled(dout is not None):
        out = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)
    if dout is None:
        return out.detach().numpy()
    # Differentiate the scalar <out, dout>: the same vector-Jacobian product as passing dout as
    # grad_outputs, without the shape checks that make torch import sympy (0.4 s) on first use.
    loss = (out * torch.from_numpy(np.array(dout, dtype=np.float64))).sum()
    dx, dw, db = torch.autograd.grad(loss, (xt, wt, bt))
    return out.detach().numpy(), dx.numpy(), dw.numpy(), db.numpy()


# -- calling the student --------------------------------------------------------------------------


def _flipped_grads(cfg, d):
    """Gradients of a true convolution (flipped kernel), mapped back to w's orientation."""
    wf = d["w"][:, :, ::-1, ::-1].copy()
    _, dx, dw, db = conv_oracle(d["x"], wf, d["b"], cfg.stride, cfg.pad, d["dout"])
    return dx, dw[:, :, ::-1, ::-1], db


def _unread(cfg: Config) -> np.ndarray:
    """Mask (H, W) of input positions that no window reads (below/right of the last window)."""
    Ho, Wo = cfg.out_hw
    rows = np.arange(cfg.H) + cfg.pad >= (Ho - 1) * cfg.stride + cfg.HH
    cols = np.arange(cfg.W) + cfg.pad >= (Wo - 1) * cfg.stride + cfg.WW
    return rows[:, None] | cols[None, :]
