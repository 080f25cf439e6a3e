"""ex11 configurations, seeded inputs and the oracle (``torch.nn.functional.max_pool2d``).

Every input has distinct values (a random permutation of evenly spaced levels, shifted by less
than half a level), so each window has one maximum and ties are never judged (the contract says
so). The values lie in [-3, 1]: most windows hold negative numbers only, where a maximum that
starts from 0 shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.checks.compare import describe_shape


@dataclass(frozen=True)
class Config:
    """One pooling problem: input (N, C, H, W), window ph x pw, stride s (no padding)."""

    N: int
    C: int
    H: int
    W: int
    ph: int
    pw: int
    s: int

    @property
    def x_shape(self) -> tuple:
        return (self.N, self.C, self.H, self.W)

    @property
    def out_hw(self) -> tuple:
        """(H_out, W_out) with the floor of the contract."""
        return 1 + (self.H - self.ph) // self.s, 1 + (self.W - self.pw) // self.s

    @property
    def out_shape(self) -> tuple:
        return (self.N, self.C) + self.out_hw

    @property
    def overlaps(self) -> bool:
        """Neighbouring windows share input elements (stride < pool along an axis with 2+ windows)."""
        Ho, Wo = self.out_hw
        return (self.s < self.ph and Ho > 1) or (self.s < self.pw and Wo > 1)

    @property
    def floors(self) -> bool:
        """The windows do not tile the input exactly: the floor of the output size matters."""
        return bool((self.H - self.ph) % self.s or (self.W - self.pw) % self.s)

    @property
    def gaps(self) -> bool:
        """The stride is larger than the pool: rows or columns between windows are never read."""
        Ho, Wo = self.out_hw
        return (self.s > self.ph and Ho > 1) or (self.s > self.pw and Wo > 1)

    @property
    def args(self) -> tuple:
        return (self.ph, self.pw, self.s)

    def describe(self) -> str:
        return (f"x {describe_shape(np.empty(self.x_shape))}, pool_height={self.ph}, "
                f"pool_width={self.pw}, stride={self.s}")


#: Main configurations: the windows tile the input exactly. The first five do not overlap
#: (stride >= pool: backward_dx), the last five do (stride < pool: backward_overlap). Simple
#: cases first, so "raised on the first non-square pool" is telling.
CONFIGS = (
    Config(2, 3, 8, 8, 2, 2, 2),
    Config(2, 2, 6, 9, 3, 3, 3),        # non-square input
    Config(3, 2, 6, 8, 3, 2, 3),        # non-square pool, a gap between columns
    Config(2, 1, 10, 12, 2, 4, 4),      # C = 1, non-square pool, gaps between rows
    Config(1, 3, 7, 7, 2, 2, 5),        # N = 1, stride > pool
    Config(2, 3, 7, 7, 3, 3, 2),        # overlapping 3x3 windows, stride 2 (ResNet's stem)
    Config(1, 2, 6, 5, 2, 2, 1),        # N = 1, stride 1
    Config(2, 3, 9, 8, 3, 2, 1),        # non-square pool, stride 1
    Config(3, 2, 6, 10, 2, 4, 2),       # overlap along the width only
    Config(2, 1, 8, 8, 4, 4, 2),        # C = 1
)
DISJOINT = tuple(c for c in CONFIGS if not c.overlaps)
OVERLAPPING = tuple(c for c in CONFIGS if c.overlaps)

#: Edge configurations: output sizes that need the floor (each of ceil, round() and
#: round-half-up gives another size on at least one of them), N = C = 1, a pool as large as the
#: input (a 1x1 output), a 1x1 pool (plain subsampling), stride > pool with the floor.
EDGE_CONFIGS = (
    Config(1, 2, 7, 7, 2, 2, 2),        # 5/2: 3x3 (ceil and round(3.5) give 4)
    Config(2, 1, 8, 9, 3, 3, 2),        # 5/2 and 6/2, overlapping
    Config(1, 3, 10, 7, 3, 2, 3),       # 7/3 and 5/3 (round(2.67) gives 3)
    Config(1, 1, 6, 5, 2, 2, 2),        # N = C = 1, 3/2 (ceil gives 3)
    Config(2, 2, 5, 6, 5, 6, 1),        # the pool is the whole input: 1x1
    Config(2, 3, 9, 11, 2, 3, 4),       # 7/4 and 8/4, gaps
    Config(1, 1, 3, 8, 1, 1, 2),        # a 1x1 pool: every other element
)

#: Tiny overlapping shape for a full Jacobian, realistic one for random entries and directions.
TINY = Config(1, 2, 4, 5, 2, 2, 1)
REALISTIC = Config(2, 3, 7, 7, 3, 3, 2)


def distinct_values(rng: np.random.Generator, shape: tuple, low: float = -3.0,
                    high: float = 1.0) -> np.ndarray:
    """Float64 values in [low, high], all different: level k of n evenly spaced levels, in a
    random order, plus a shift in [0.25, 0.75) of a level (so neighbouring values differ by at
    least half a level, far above a central-difference step or float32 rounding)."""
    n = int(np.prod(shape))
    levels = rng.permutation(n) + rng.uniform(0.25, 0.75, size=n)
    return (low + (high - low) * levels / n).reshape(shape)


def make_inputs(rng: np.random.Generator, cfg: Config) -> dict:
    """Seeded inputs for ``cfg``: ``x`` (distinct values) and an upstream gradient ``dout``."""
    return {"x": distinct_values(rng, cfg.x_shape), "dout": rng.normal(size=cfg.out_shape)}


def pool_oracle(x: np.ndarray, ph: int, pw: int, s: int, dout: np.ndarray | None = None):
    """``torch.nn.functional.max_pool2d(x, (ph, pw), stride=s)`` in float64 on the CPU and, with
    an upstream gradient, the gradient autograd gives.

    Args:
        x (N, C, H, W) float64; ph, pw, s: ints; dout (N, C, H_out, W_out) or None.

    Returns:
        out (N, C, H_out, W_out) when ``dout`` is None, else ``(out, dx)``, float64 arrays.
    """
    import torch
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=dout is not None)
    with torch.set_grad_enabled(dout is not None):
        out = torch.nn.functional.max_pool2d(xt, (ph, pw), stride=s)
        if dout is None:
            return out.detach().numpy()
        # the vector-Jacobian product as the gradient of <out, dout> (no sympy import)
        (dx,) = torch.autograd.grad((out * torch.from_numpy(np.asarray(dout, np.float64))).sum(), (xt,))
    return out.detach().numpy(), dx.numpy()
