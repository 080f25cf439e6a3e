"""ex08's inputs and oracle: self-attention in float64 (torch's scaled_dot_product_attention
and its autograd), and the same forward in numpy with one thing changed, for the recognisers.

``torch`` is imported only when the oracle runs, so grading a numpy exercise never pays for it.
"""
from __future__ import annotations

import math

import numpy as np

#: Position of ``cache`` in the forward's return tuple: it stays in the student process (a handle).
CACHE = (1,)
FWD, BWD = "attention_forward", "attention_backward"
FWD_PARAMS = ("x", "Wq", "Wk", "Wv")
GRADS = ("dx", "dWq", "dWk", "dWv")
#: (N, T, D, dk, dv): D, dk, dv all different; N = 1, T = 1 and dk > D included.
#: N, dk and their square roots differ in each (so a factor 1/N is not mistaken for 1/sqrt(dk)).
CONFIGS = ((2, 5, 6, 3, 4), (1, 7, 5, 3, 2), (3, 1, 4, 2, 5), (2, 6, 3, 5, 4))
#: (config, causal) of the backward checks.
BACKWARD_CASES = (((2, 5, 6, 3, 4), False), ((1, 7, 5, 3, 2), True), ((2, 6, 3, 5, 4), False),
                  ((2, 4, 3, 5, 4), True))
#: Largest |score| of the stability check: exp(5000) overflows float64 (exp(710) = inf).
LARGE_SCORE = 5e3
#: A variant output "matches" a student's output at this tolerance (recognisers only).
MATCH = {"rtol": 1e-6, "atol": 1e-9}

# -- inputs -------------------------------------------------------------------------------------
def make_inputs(rng: np.random.Generator, n: int, t: int, d: int, dk: int, dv: int) -> dict:
    """Random float64 inputs with scores S of order 1 (every scaling mistake shows)."""
    return {"x": rng.normal(size=(n, t, d)),
            "Wq": rng.normal(size=(d, dk)) / np.sqrt(d),
            "Wk": rng.normal(size=(d, dk)) / np.sqrt(d),
            "Wv": rng.normal(size=(d, dv)) / np.sqrt(d)}


def large_inputs(rng: np.random.Generator, n: int, t: int, d: int, dk: int, dv: int) -> dict:
    """Inputs whose largest |S| is exactly :data:`LARGE_SCORE` (x rescaled; S is quadratic in x),
    so an exp of unshifted scores overflows to inf and inf/inf = nan."""
    inp = make_inputs(rng, n, t, d, dk, dv)
    s = _scores(inp)
    inp["x"] = inp["x"] * np.sqrt(LARGE_SCORE / np.abs(s).max())
    return inp


def worst_inputs(rng: np.random.Generator, causal: bool) -> dict:
    """Deterministic worst cases of large scores (N=1, T=7, D=5, dk=3, dv=4): Wq = Wk pick x's
    first three coordinates, and x's rows are chosen so that S holds exactly +-LARGE_SCORE next
    to rows whose scores are all 0 (a softmax shifted by the global maximum instead of each
    row's gives exp(-5e3) / sum = 0/0 there), a row whose maximum is far below another's, a row
    whose two largest scores are 5000 and 4999 (a clamp of the scores makes them equal), and
    with ``causal`` a first row that sees only itself. Wv is seeded."""
    d, dk, dv = 5, 3, 4
    a = math.sqrt(LARGE_SCORE * math.sqrt(dk))          # |x_t|^2 / sqrt(dk) = LARGE_SCORE
    e = np.eye(d)
    rows = [0.0 * e[0], a * e[0], -a * e[0], a * e[1], 0.5 * a * e[2], 1e-3 * e[1],
            a * (1.0 - 2e-4) * e[0]]
    if causal:
        rows = [a * e[0], 0.0 * e[0]] + rows[2:]
    w = np.zeros((d, dk))
    w[:dk, :dk] = np.eye(dk)
    return {"x": np.array(rows)[None], "Wq": w.copy(), "Wk": w.copy(),
            "Wv": rng.normal(size=(d, dv)) / np.sqrt(d)}


def leak_inputs(rng: np.random.Generator, t: int = 5) -> dict:
    """Deterministic worst cases of a causal mask (N=1, T=5, D=5, dk=3, dv=4; ``t=1``: the first
    row alone): Wk = -Wq, so S[t, s] = -x_t . x_s / sqrt(dk) and a row's own score is -5e3.
    Row 0 sees one key, scored -5e3 (an unshifted exp gives 0/0); rows 1 and 3 see only scores
    far below a future one (1e4 above row 1's: a finite mask, -1e4 added or -1e3 filled in,
    still gives the future weight, and a maximum taken before masking underflows to 0/0).
    Wv is seeded."""
    d, dk, dv = 5, 3, 4
    a = math.sqrt(LARGE_SCORE * math.sqrt(dk))
    e = np.eye(d)
    rows = [a * e[0], a * e[0], -a * e[0], a * e[1], -a * e[1]][:t]
    w = np.zeros((d, dk))
    w[:dk, :dk] = np.eye(dk)
    return {"x": np.array(rows)[None], "Wq": w.copy(), "Wk": -w,
            "Wv": rng.normal(size=(d, dv)) / np.sqrt(d)}


def _args(inp: dict) -> tuple:
    return tuple(inp[k] for k in FWD_PARAMS)


def _dims(inp: dict) -> tuple[int, int, int, int, int]:
    n, t, d = inp["x"].shape
    return n, t, d, inp["Wq"].shape[1], inp["Wv"].shape[1]


def _on(inp: dict, causal: bool, extra: str = "") -> str:
    n, t, d, dk, dv = _dims(inp)
    return f"N={n}, T={t}, D={d}, dk={dk}, dv={dv}, causal={causal}{extra}"


# -- oracles (torch, grader side) ---------------------------------------------------------------
def oracle(inp: dict, causal: bool, dout=None) -> dict:
    """``scaled_dot_product_attention`` in float64 and, with ``dout``, autograd gradients.

    Args:
        inp: ``x`` (N, T, D), ``Wq``/``Wk`` (D, dk), ``Wv`` (D, dv), float64 numpy arrays.
        causal: PyTorch's ``is_causal`` (position t attends to positions 0..t).
        dout: upstream gradient (N, T, dv) or None.

    Returns:
        dict with ``out`` (N, T, dv) and, with ``dout``, ``dx``, ``dWq``, ``dWk``, ``dWv``.
    """
    import torch
    import torch.nn.functional as F

    want = dout is not None
    t = {k: torch.tensor(inp[k], dtype=torch.float64, requires_grad=want) for k in FWD_PARAMS}
    with torch.set_grad_enabled(want):
        q, k, v = t["x"] @ t["Wq"], t["x"] @ t["Wk"], t["x"] @ t["Wv"]
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        res = {"out": out.detach().numpy().copy()}
        if want:
            (out * torch.from_numpy(dout)).sum().backward()
            res.update({g: t[p].grad.numpy().copy() for g, p in zip(GRADS, FWD_PARAMS)})
    return res

# -- the forward in numpy, with one thing changed (recognisers; reference of the numeric check) --
def _scores(inp: dict, factor: float | None = None, transpose: bool = False) -> np.ndarray:
    q, k = inp["x"] @ inp["Wq"], inp["x"] @ inp["Wk"]
    if transpose:
        q, k = k, q
    dk = inp["Wq"].shape[1]
    return q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(dk) if factor is None else factor)


def _allowed(t: int, mask: str) -> np.ndarray:
    """(T, T) boolean: may query position t (rows) attend to key position s (columns)?"""
    r, c = np.arange(t)[:, None], np.arange(t)[None, :]
    return {"causal": c <= r, "strict": c < r, "plus1": c <= r + 1, "anti": c >= r,
            "none": np.ones((t, t), bool)}[mask]


def _softmax(s: np.ndarray, axis: int, shift: str = "row", unmasked: np.ndarray | None = None
             ) -> np.ndarray:
    """Softmax of ``s`` (masked entries -inf) shifted as a student might: by each row's maximum
    (``row``, the stable one), not at all (``none``), by the maximum of the whole tensor
    (``global``), or by each row's maximum taken before the mask (``unmasked``, from the scores
    ``unmasked``). Overflow and 0/0 give inf and nan as they would in the student's code."""
    with np.errstate(all="ignore"):
        if shift == "none":
            m = 0.0
        elif shift == "global":
            m = np.max(s[np.isfinite(s)])
        elif shift == "unmasked":
            m = np.max(unmasked, axis=axis, keepdims=True)
        else:
            m = np.max(s, axis=axis, keepdims=True)
        e = np.exp(s - m)
        return e / e.sum(axis=axis, keepdims=True)


def variant_forward(inp: dict, causal: bool, *, factor: float | None = None, axis: int = -1,
                    transpose: bool = False, mask: str = "causal", after: bool = False,
                    shift: str = "row") -> np.ndarray:
    """The attention forward with one thing changed, to name a student's mistake.

    Args:
        factor: the scale of the scores (None: 1/sqrt(dk)). axis: the softmax axis (-2 is the
            query axis). transpose: scores K @ Q^T instead of Q @ K^T.
        mask: which (t, s) a causal row may see: ``causal`` (s <= t), ``strict`` (s < t),
            ``plus1`` (s <= t + 1), ``anti`` (s >= t) or ``none``. after: zero the masked
            weights after an unmasked softmax (no renormalisation).
        shift: what the exp is shifted by (see :func:`_softmax`): ``row``, ``none``, ``global``,
            ``unmasked``.

    Returns:
        out (N, T, dv); rows with nothing to attend to, or whose exp overflows or underflows
        under ``shift``, are nan.
    """
    s = _scores(inp, factor, transpose)
    t = s.shape[-1]
    allowed = _allowed(t, mask if causal else "none")
    with np.errstate(all="ignore"):
        if after:
            a = _softmax(s, axis, shift, s) * allowed
        else:
            a = _softmax(np.where(allowed, s, -np.inf), axis, shift, s)
        return a @ (inp["x"] @ inp["Wv"])
