"""ex07's inputs and oracle: the contract's LSTM step in float64, and torch.nn.LSTMCell.

``torch`` is imported only when the oracle runs, so grading a numpy exercise never pays for it.
"""
from __future__ import annotations

import numpy as np

#: Position of ``cache`` in the forward's return tuple: it stays in the student process (a handle).
CACHE = (2,)
FWD, BWD = "lstm_step_forward", "lstm_step_backward"
FWD_PARAMS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
BWD_PARAMS = ("dnext_h", "dnext_c", "cache")
GRADS = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
#: The contract's gate order: block k of the H-column blocks of ``a`` is gate GATES[k].
GATES = ("i", "f", "o", "g")
GATE_WORDS = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "g": "candidate g"}
#: PyTorch's blocks (i, f, g, o) as indices into the contract's blocks (i, f, o, g).
TORCH_ORDER = (0, 1, 3, 2)
#: (N, D, H) of the value checks: D != H everywhere (so Wx and Wh cannot be confused), N = 1, H = 1.
CONFIGS = ((3, 5, 4), (1, 2, 3), (4, 3, 1), (2, 6, 5))
#: A variant output "matches" a student's output at this tolerance (recognisers only).
MATCH = {"rtol": 1e-6, "atol": 1e-9}

# -- inputs -------------------------------------------------------------------------------------
def make_inputs(rng: np.random.Generator, n: int, d: int, h: int, scale: float = 1.0) -> dict:
    """Random float64 inputs of :func:`lstm_step_forward` with pre-activations of order ``scale``.

    ``scale=1`` keeps the gates away from saturation (|a| ~ 1, so every mistake shows); a large
    ``scale`` (1e3) saturates them and makes next_c large, where ``tanh`` written with ``exp``
    overflows to inf/inf = nan.
    """
    return {
        "x": rng.normal(size=(n, d)),
        "prev_h": np.tanh(rng.normal(size=(n, h))),
        "prev_c": rng.normal(size=(n, h)) * scale,
        "Wx": rng.normal(size=(d, 4 * h)) * scale / np.sqrt(d),
        "Wh": rng.normal(size=(h, 4 * h)) * scale / np.sqrt(h),
        "b": rng.normal(size=(4 * h,)) * 0.5 * scale,
    }


def saturated_inputs(rng: np.random.Generator, n: int, d: int, h: int) -> dict:
    """Inputs whose gate pre-activations are ~1e3..1e4 in size and whose next_c is ~1e3."""
    inp = make_inputs(rng, n, d, h, scale=3e3)
    inp["b"] = rng.choice([-1.0, 1.0], size=4 * h) * rng.uniform(1e3, 1e4, size=4 * h)
    return inp


#: Gate pre-activations where a formula written with exp breaks, in every check on every seed:
#: exp(710) overflows float64, exp(-745) underflows to 0, 1e4 saturates anything.
EXTREMES = (-1e4, -745.0, -710.0, -50.0, 50.0, 710.0, 745.0, 1e4)


def worst_inputs(rng: np.random.Generator, n: int, d: int) -> dict:
    """Deterministic worst cases of saturation: Wx = Wh = 0, so the pre-activations are b, whose
    four gate blocks each hold every value of :data:`EXTREMES` (in a different order per block,
    H = 8); prev_c is +-1e3, so next_c is large too. x and prev_h are seeded but do not matter."""
    h = len(EXTREMES)
    ext = np.array(EXTREMES)
    b = np.concatenate([np.roll(ext, 3 * k) for k in range(4)])
    return {"x": rng.normal(size=(n, d)), "prev_h": np.tanh(rng.normal(size=(n, h))),
            "prev_c": np.resize([1e3, -1e3, 2e3, -0.5], (n, h)).astype(float),
            "Wx": np.zeros((d, 4 * h)), "Wh": np.zeros((h, 4 * h)), "b": b}


def _args(inp: dict) -> tuple:
    return tuple(inp[k] for k in FWD_PARAMS)


def _on(inp: dict, extra: str = "") -> str:
    n, d = inp["x"].shape
    h = inp["prev_h"].shape[1]
    return f"N={n}, D={d}, H={h}{extra}"


# -- oracles (torch, grader side) ---------------------------------------------------------------
def _cols(h: int) -> np.ndarray:
    """Column indices of the contract's (.., 4H) layout in PyTorch's gate order i, f, g, o."""
    return np.concatenate([np.arange(k * h, (k + 1) * h) for k in TORCH_ORDER])


def oracle(inp: dict, dnext_h=None, dnext_c=None) -> dict:
    """``torch.nn.LSTMCell`` in float64 on the contract's inputs, and autograd gradients.

    Args:
        inp: ``x`` (N, D), ``prev_h``/``prev_c`` (N, H), ``Wx`` (D, 4H), ``Wh`` (H, 4H), ``b``
            (4H,), float64 numpy arrays in the contract's gate order i, f, o, g.
        dnext_h, dnext_c: upstream gradients (N, H); when given, gradients are computed.

    Returns:
        dict with ``next_h``, ``next_c`` (numpy float64) and, with upstream gradients, ``dx``,
        ``dprev_h``, ``dprev_c``, ``dWx``, ``dWh``, ``db`` in the contract's layout plus ``dc``:
        the total gradient reaching next_c (directly and through next_h), used for hints.
    """
    import torch

    d, h4 = inp["Wx"].shape
    h = h4 // 4
    cols = _cols(h)
    want_grad = dnext_h is not None
    cell = torch.nn.LSTMCell(d, h, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(np.ascontiguousarray(inp["Wx"][:, cols].T)))
        cell.weight_hh.copy_(torch.from_numpy(np.ascontiguousarray(inp["Wh"][:, cols].T)))
        cell.bias_ih.copy_(torch.from_numpy(inp["b"][cols]))
        cell.bias_hh.zero_()
    leaves = {k: torch.tensor(inp[k], dtype=torch.float64, requires_grad=want_grad)
              for k in ("x", "prev_h", "prev_c")}
    with torch.set_grad_enabled(want_grad):
        next_h, next_c = cell(leaves["x"], (leaves["prev_h"], leaves["prev_c"]))
        out = {"next_h": next_h.detach().numpy().copy(), "next_c": next_c.detach().numpy().copy()}
        if not want_grad:
            return out
        next_c.retain_grad()
        loss = (next_h * torch.from_numpy(dnext_h)).sum() + (next_c * torch.from_numpy(dnext_c)).sum()
        loss.backward()
    back = np.empty_like(cols)
    back[cols] = np.arange(cols.size)           # torch layout -> contract layout
    out.update({
        "dx": leaves["x"].grad.numpy().copy(),
        "dprev_h": leaves["prev_h"].grad.numpy().copy(),
        "dprev_c": leaves["prev_c"].grad.numpy().copy(),
        "dWx": cell.weight_ih.grad.numpy().T[:, back].copy(),
        "dWh": cell.weight_hh.grad.numpy().T[:, back].copy(),
        "db": cell.bias_ih.grad.numpy()[back].copy(),
        "dc": next_c.grad.numpy().copy(),
    })
    return out

# -- the formula in numpy (recognisers, and the reference of the numerical check) --------------
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))       # stable for any z


def variant_forward(inp: dict, order=(0, 1, 2, 3), *, g_act="tanh", forget=True, bias=True,
                    cell_from="prev_c", h_act="tanh") -> tuple[np.ndarray, np.ndarray]:
    """The LSTM forward with one thing changed, to name a student's mistake.

    Args:
        inp: the inputs. order: the blocks of ``a`` read as i, f, o, g (``(0, 1, 3, 2)`` is
            reading them in PyTorch's order i, f, g, o). g_act: ``"tanh"`` or ``"sigmoid"``.
        forget: False drops the forget gate (next_c = prev_c + i*g). bias: False drops b.
        cell_from: ``"prev_c"`` or ``"prev_h"`` (the state the forget gate multiplies).
        h_act: ``"tanh"`` (correct), ``"none"`` (next_h = o*next_c), ``"outer"``
            (next_h = tanh(o*next_c)).

    Returns:
        (next_h, next_c), float64.
    """
    h = inp["prev_h"].shape[1]
    a = inp["x"] @ inp["Wx"] + inp["prev_h"] @ inp["Wh"] + (inp["b"] if bias else 0.0)
    blk = [a[:, k * h:(k + 1) * h] for k in order]
    i, f, o = _sigmoid(blk[0]), _sigmoid(blk[1]), _sigmoid(blk[2])
    g = np.tanh(blk[3]) if g_act == "tanh" else _sigmoid(blk[3])
    state = inp[cell_from]
    next_c = (f * state if forget else state) + i * g
    next_h = {"tanh": o * np.tanh(next_c), "none": o * next_c, "outer": np.tanh(o * next_c)}[h_act]
    return next_h, next_c
