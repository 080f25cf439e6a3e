"""Checks of ex07 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import itertools

import numpy as np

from grader.checks.common import assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, expect_array, expect_tuple, unwrap
from grader.checks.gradients import compare_gradient, numerical_gradient, probe_coords
from grader.spec import Check, Exercise, Fail, Function

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


# -- recognisers of the usual mistakes (hints only) ---------------------------------------------
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


def _matches(got, expected) -> bool:
    return got.shape == expected.shape and bool(np.allclose(got, expected, **MATCH))


def describe_order(order) -> str:
    """``(0, 1, 3, 2)`` -> ``"i, f, g, o"``: the gate each block of ``a`` was used as."""
    return ", ".join(GATES[order.index(k)] for k in range(4))


def _order_hint(order) -> str:
    read = describe_order(order)
    torch_note = " (that is PyTorch's nn.LSTM layout)" if read == "i, f, g, o" else ""
    return (f"you read the four blocks of a = x@Wx + prev_h@Wh + b as {read}{torch_note}; the "
            "contract's order is i, f, o, g: i = sigmoid(a[:, :H]), f = sigmoid(a[:, H:2H]), "
            "o = sigmoid(a[:, 2H:3H]), g = tanh(a[:, 3H:])")


FORWARD_VARIANTS = (
    ({"h_act": "none"}, "next_h = o * next_c: the tanh is missing; next_h = o * tanh(next_c)"),
    ({"h_act": "outer"}, "you computed tanh(o * next_c); it is o * tanh(next_c)"),
    ({"g_act": "sigmoid"}, "g went through a sigmoid; the candidate g = tanh(a_g) (range -1..1)"),
    ({"forget": False}, "next_c = prev_c + i * g forgets the forget gate: next_c = f * prev_c + i * g"),
    ({"cell_from": "prev_h"}, "the forget gate multiplies prev_h; it must multiply prev_c"),
    ({"bias": False}, "the bias b is missing from a = x @ Wx + prev_h @ Wh + b"),
)


def forward_hint(inp: dict, got_h: np.ndarray | None, got_c: np.ndarray | None, which: str) -> str:
    """The most specific hint for a wrong ``which`` (``"next_h"``/``"next_c"``) output."""
    got = got_h if which == "next_h" else got_c
    for order in itertools.permutations(range(4)):
        if order == (0, 1, 2, 3):
            continue
        vh, vc = variant_forward(inp, order)
        ok_c = got_c is not None and _matches(got_c, vc)
        ok_h = got_h is not None and _matches(got_h, vh)
        if (which == "next_c" and ok_c and (got_h is None or ok_h)) or (which == "next_h" and ok_h):
            return _order_hint(order)
    for kwargs, hint in FORWARD_VARIANTS:
        vh, vc = variant_forward(inp, **kwargs)
        if _matches(got, vh if which == "next_h" else vc):
            return hint
    if which == "next_c":
        # a gate order mistake that only next_c shows (next_h wrong in another way too)
        for order in itertools.permutations(range(4)):
            if order != (0, 1, 2, 3) and _matches(got_c, variant_forward(inp, order)[1]):
                return _order_hint(order)
        return "next_c = f * prev_c + i * g with i, f = sigmoid of blocks 0 and 1, g = tanh of block 3"
    return "next_h = o * tanh(next_c) with o = sigmoid(a[:, 2H:3H])"


# -- running the student's code -----------------------------------------------------------------
def _forward_outputs(res, inp: dict, device, on: str | None = None):
    """Unpack ``(next_h, next_c, cache)``, checking types, shapes, dtypes and (with ``on``, the
    input's description) finiteness with the overflow hint. Returns numpy next_h, next_c and the
    cache as it came back."""
    next_h, next_c, cache = expect_tuple(res, 3, fn=FWD, names="(next_h, next_c, cache)")
    shape = inp["prev_h"].shape
    out = []
    for value, what in ((next_h, "next_h"), (next_c, "next_c")):
        arr = unwrap(value, fn=FWD, what=what, device=device)
        if on is not None and arr.shape == shape:
            _finite(arr, fn=FWD, what=what, on=on)
        out.append(expect_array(arr, fn=FWD, what=what, shape=shape))
    return out[0], out[1], cache


def _finite(arr: np.ndarray, *, fn: str, what: str, on: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise Fail(f"{fn}: {what} contains {arr[bad]} at {list(bad)} on {on}. Hint: tanh or "
                   "sigmoid written with exp overflows for large inputs (exp(710) = inf, and "
                   "inf/inf = nan); use torch.tanh and torch.sigmoid, which are stable for inputs "
                   "of any size, and write the derivatives with the saved outputs "
                   "(sigmoid' = s*(1-s), tanh' = 1-t**2)")


SATURATED = ", pre-activations ~1e3..1e4"


def _check_forward(ctx, cases: list[dict], labels=None) -> list[tuple[dict, str, dict]]:
    """The student's forward on every case in one round trip: ``(inputs, description, {"next_h":
    .., "next_c": ..})`` per case; outputs are checked for type, shape, dtype and finiteness."""
    labels = labels or [""] * len(cases)
    results = ctx.map(FWD, [(_args(inp), {}) for inp in cases])
    runs = []
    for inp, res, label in zip(cases, results, labels):
        on = _on(inp, label)
        h, c, _ = _forward_outputs(res, inp, ctx.tensor_device, on)
        runs.append((inp, on, {"next_h": h, "next_c": c}))
    return runs


def check_next_c(ctx) -> None:
    cases = [make_inputs(ctx.rng, *cfg) for cfg in CONFIGS]
    for inp, on, got in _check_forward(ctx, cases):
        exp = oracle(inp)
        if not _matches(got["next_c"], exp["next_c"]):
            hint = forward_hint(inp, got["next_h"], got["next_c"], "next_c")
            assert_close(got["next_c"], exp["next_c"], fn=FWD, what="next_c", on=on, hint=hint)


def check_next_h(ctx) -> None:
    cases = [make_inputs(ctx.rng, *cfg) for cfg in CONFIGS]
    for inp, on, got in _check_forward(ctx, cases):
        exp = oracle(inp)
        if not _matches(got["next_h"], exp["next_h"]):
            hint = forward_hint(inp, got["next_h"], got["next_c"], "next_h")
            if _matches(got["next_c"], exp["next_c"]) and "order" not in hint:
                hint = "your next_c is right, so the mistake is after it: " + hint
            assert_close(got["next_h"], exp["next_h"], fn=FWD, what="next_h", on=on, hint=hint)


def check_forward_saturated(ctx) -> None:
    """Saturated gates: finite outputs equal to the oracle. One ordinary case rides along so a
    formula that is wrong everywhere is not blamed on saturation."""
    cases = [make_inputs(ctx.rng, 3, 4, 5), saturated_inputs(ctx.rng, 3, 4, 5),
             saturated_inputs(ctx.rng, 2, 3, 2)]
    runs = _check_forward(ctx, cases, ["", SATURATED, SATURATED])
    (inp0, _, got0), saturated = runs[0], runs[1:]
    exp0 = oracle(inp0)
    ordinary_ok = all(_matches(got0[w], exp0[w]) for w in ("next_h", "next_c"))
    hint = ("with saturated gates sigmoid is exactly 0 or 1 and tanh exactly -1 or 1; use "
            "torch.sigmoid / torch.tanh" if ordinary_ok else
            "your forward is wrong on ordinary inputs too (see forward_next_c and forward_next_h); "
            "fix that first")
    for inp, on, got in saturated:
        exp = oracle(inp)
        for what in ("next_c", "next_h"):
            assert_close(got[what], exp[what], fn=FWD, what=what, on=on, hint=hint)


# -- backward -----------------------------------------------------------------------------------
def _backward_cases(ctx, configs=CONFIGS, saturated=False) -> list[dict]:
    cases = []
    for n, d, h in configs:
        inp = saturated_inputs(ctx.rng, n, d, h) if saturated else make_inputs(ctx.rng, n, d, h)
        cases.append({"inp": inp, "dnext_h": ctx.rng.normal(size=(n, h)),
                      "dnext_c": ctx.rng.normal(size=(n, h))})
    return cases


def _run_backward(ctx, cases: list[dict], labels=None) -> list[dict]:
    """Student forward then backward on each case (two round trips in all); returns per case the
    numpy gradients by name (``got``), the oracle with gradients (``exp``), a description of the
    input (``on``) and whether the student's forward matched the oracle there (``fwd_ok``)."""
    labels = labels or [""] * len(cases)
    ons = [_on(c["inp"], label) for c, label in zip(cases, labels)]
    fwd = ctx.map(FWD, [(_args(c["inp"]), {}) for c in cases], keep=CACHE)
    outs = [_forward_outputs(r, c["inp"], ctx.tensor_device, on) for r, c, on in zip(fwd, cases, ons)]
    bwd = ctx.map(BWD, [((c["dnext_h"], c["dnext_c"], cache), {}) for c, (_, _, cache) in zip(cases, outs)])
    runs = []
    for c, (h, cc, _), res, on in zip(cases, outs, bwd, ons):
        inp = c["inp"]
        grads = expect_tuple(res, 6, fn=BWD, names="(dx, dprev_h, dprev_c, dWx, dWh, db)")
        got = {}
        for value, name, like in zip(grads, GRADS, FWD_PARAMS):
            arr = unwrap(value, fn=BWD, what=name, device=ctx.tensor_device)
            if arr.shape == inp[like].shape:
                _finite(arr, fn=BWD, what=name, on=on)
            got[name] = expect_array(arr, fn=BWD, what=name, shape=inp[like].shape)
        exp = oracle(inp, c["dnext_h"], c["dnext_c"])
        fwd_ok = _matches(h, exp["next_h"]) and _matches(cc, exp["next_c"])
        runs.append({"case": c, "got": got, "exp": exp, "on": on, "fwd_ok": fwd_ok})
    return runs


def _fwd_note(run) -> str:
    return "" if run["fwd_ok"] else (" (Your lstm_step_forward is also wrong on this input and "
                                     "the backward pass works from its cache: fix the forward first.)")


def _blocks(a: np.ndarray, h: int) -> list[np.ndarray]:
    return [a[..., k * h:(k + 1) * h] for k in range(4)]


def _cols_text(k: int) -> str:
    lo = "" if k == 0 else (f"{k}H" if k > 1 else "H")
    hi = {0: "H", 1: "2H", 2: "3H", 3: "4H"}[k]
    return f"columns {lo}:{hi}"


BLOCK_HINTS = {
    "i": "di = dc * g, then da_i = di * i * (1 - i)",
    "f": "df = dc * prev_c, then da_f = df * f * (1 - f)",
    "o": "do = dnext_h * tanh(next_c), then da_o = do * o * (1 - o)",
    "g": "dg = dc * i, then da_g = dg * (1 - g**2) (tanh' written with the saved g)",
}


def weight_hint(got: np.ndarray, exp: np.ndarray, h: int, what: str, n: int) -> str:
    """Which gate blocks of dWx/dWh/db are wrong, and the usual cause."""
    g_blocks, e_blocks = _blocks(got, h), _blocks(exp, h)
    for order in itertools.permutations(range(4)):
        if order != (0, 1, 2, 3) and all(_matches(g_blocks[k], e_blocks[order[k]]) for k in range(4)):
            return (f"the four blocks of {what} hold the gradients of the gates in the order "
                    f"{', '.join(GATES[order[k]] for k in range(4))}; stack da in the contract's "
                    "order i, f, o, g (the order the forward reads a)")
    denom = float(np.sum(exp * exp))
    if denom > 0 and n > 1:
        k = float(np.sum(got * exp)) / denom
        if np.isclose(k, 1.0 / n, rtol=1e-6) and _matches(got, k * exp):
            return f"{what} is divided by N = {n}: the weights are shared by the batch, so sum over it"
    wrong = [GATES[k] for k in range(4) if not _matches(g_blocks[k], e_blocks[k])]
    if not wrong or len(wrong) == 4:
        return ""
    where = "; ".join(f"{GATE_WORDS[gate]} ({_cols_text(GATES.index(gate))})" for gate in wrong)
    right = ", ".join(gate for gate in GATES if gate not in wrong)
    msg = f"only these gate blocks of {what} are wrong: {where} (the blocks of {right} are right). "
    if sorted(wrong) == ["f", "g", "i"]:
        return msg + ("i, f and g all receive dc, the gradient reaching next_c, so dc is wrong: "
                      "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)")
    return msg + "Check " + "; ".join(BLOCK_HINTS[gate] for gate in wrong)


def check_backward_dx_dh(ctx) -> None:
    for run in _run_backward(ctx, _backward_cases(ctx)):
        got, exp, h = run["got"], run["exp"], run["case"]["inp"]["prev_h"].shape[1]
        da_ok = _matches(got["db"], exp["db"]) and _matches(got["dWx"], exp["dWx"])
        for name, w in (("dx", "Wx"), ("dprev_h", "Wh")):
            if _matches(got[name], exp[name]):
                continue
            if da_ok:
                hint = (f"your gate gradients da look right (db and dWx match), so the product is "
                        f"wrong: {name} = da @ {w}.T with da = [da_i | da_f | da_o | da_g], (N, 4H)")
            else:
                hint = (f"{name} = da @ {w}.T; your gate gradients da are wrong too (see the "
                        "backward_dweights check for which gate blocks)")
            assert_close(got[name], exp[name], fn=BWD, what=name, on=run["on"],
                         hint=hint + _fwd_note(run))


def _dc_with_tanh_grad_of_c(inp: dict, case: dict) -> np.ndarray:
    """The usual wrong dc, with tanh'(next_c) written as 1 - next_c**2 (a recogniser)."""
    h = inp["prev_h"].shape[1]
    o = _sigmoid((inp["x"] @ inp["Wx"] + inp["prev_h"] @ inp["Wh"] + inp["b"])[:, 2 * h:3 * h])
    _, next_c = variant_forward(inp)
    return case["dnext_c"] + case["dnext_h"] * o * (1 - next_c ** 2)


def check_backward_dprev_c(ctx) -> None:
    for run in _run_backward(ctx, _backward_cases(ctx)):
        got, exp, c = run["got"]["dprev_c"], run["exp"]["dprev_c"], run["case"]
        if _matches(got, exp):
            continue
        inp = c["inp"]
        h = inp["prev_h"].shape[1]
        f = _sigmoid((inp["x"] @ inp["Wx"] + inp["prev_h"] @ inp["Wh"] + inp["b"])[:, h:2 * h])
        hint = ("dprev_c = dc * f, where dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2) is the "
                "whole gradient reaching next_c")
        if _matches(got, run["exp"]["dc"]):
            hint = ("your dprev_c is dc, the gradient reaching next_c: the forget gate is missing. "
                    "next_c = f * prev_c + ..., so dprev_c = dc * f")
        elif _matches(got, c["dnext_c"] * f):
            hint = ("your dprev_c is dnext_c * f: next_c also reaches the loss through next_h = "
                    "o * tanh(next_c), so use dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)")
        elif _matches(got, _dc_with_tanh_grad_of_c(inp, c) * f):
            hint = ("the derivative of tanh at next_c is 1 - tanh(next_c)**2, not 1 - next_c**2: "
                    "dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)")
        elif _matches(got, c["dnext_c"]):
            hint = "your dprev_c is dnext_c itself: dprev_c = dc * f with dc the total gradient at next_c"
        assert_close(got, exp, fn=BWD, what="dprev_c", on=run["on"], hint=hint + _fwd_note(run))


def check_backward_weights(ctx) -> None:
    for run in _run_backward(ctx, _backward_cases(ctx)):
        inp = run["case"]["inp"]
        n, h = inp["prev_h"].shape
        for name, src in (("db", "sum over the batch of da"), ("dWx", "x.T @ da"), ("dWh", "prev_h.T @ da")):
            got, exp = run["got"][name], run["exp"][name]
            if _matches(got, exp):
                continue
            hint = weight_hint(got, exp, h, name, n)
            if not hint:
                hint = f"{name} = {src}, with da = [da_i | da_f | da_o | da_g] in the order i, f, o, g"
            assert_close(got, exp, fn=BWD, what=name, on=run["on"], hint=hint + _fwd_note(run))


def check_backward_saturated(ctx) -> None:
    """Saturated gates: finite gradients equal to autograd's (with an ordinary case alongside, so
    a formula that is wrong everywhere gets the right hint)."""
    cases = _backward_cases(ctx, ((3, 4, 5),)) + _backward_cases(ctx, ((3, 4, 5), (2, 3, 2)), True)
    runs = _run_backward(ctx, cases, ["", SATURATED, SATURATED])
    ordinary_ok = all(_matches(runs[0]["got"][g], runs[0]["exp"][g]) for g in GRADS)
    hint = ("with saturated gates the local derivatives s*(1-s) and 1-t**2 are 0 or tiny; write "
            "them with the saved gate values, not with exp" if ordinary_ok else
            "your gradients are wrong on ordinary inputs too (see the backward_* checks); fix "
            "those first")
    for run in runs[1:]:
        for name in GRADS:
            assert_close(run["got"][name], run["exp"][name], fn=BWD, what=name, on=run["on"],
                         hint=hint + _fwd_note(run))


def check_backward_numeric(ctx) -> None:
    """Every gradient against central differences of the student's own forward, at random
    coordinates plus random directions, all evaluations in one batch."""
    (c,) = _backward_cases(ctx, ((2, 4, 3),))
    inp = c["inp"]
    (run,) = _run_backward(ctx, [c])
    dout = np.concatenate([c["dnext_h"].ravel(), c["dnext_c"].ravel()])
    points, plan = [], []

    def collect(pts):                # first pass: only gather the perturbed inputs
        points.extend(pts)
        return [np.zeros_like(dout)] * len(pts)

    for name, grad in zip(FWD_PARAMS, GRADS):
        coords = probe_coords(inp[name].shape, ctx.rng, 5)
        dirs = [ctx.rng.normal(size=inp[name].shape) for _ in range(2)]
        start = len(points)
        numerical_gradient(collect, inp, name, dout, coords, directions=dirs)
        plan.append((name, grad, coords, dirs, start, len(points)))
    # one round trip for every perturbed forward, then the same differences on the results
    results = ctx.map(FWD, [(_args(p), {}) for p in points], keep=CACHE)
    outs = []
    for res, p in zip(results, points):
        h, cc, _ = _forward_outputs(res, p, ctx.tensor_device)
        outs.append(np.concatenate([h.ravel(), cc.ravel()]))
    for name, grad, coords, dirs, start, stop in plan:
        chunk = iter(outs[start:stop])
        num, num_dir = numerical_gradient(lambda pts: [next(chunk) for _ in pts], inp, name, dout,
                                          coords, directions=dirs)
        analytic = run["got"][grad]
        compare_gradient(analytic, num, coords, fn=BWD, what=grad,
                         against=f"central differences of your {FWD} (w.r.t. {name})", on=run["on"],
                         analytic_dir=[float(np.sum(analytic * v)) for v in dirs], numeric_dir=num_dir,
                         hint=f"{grad} must be the derivative of your own forward's "
                              "sum(dnext_h * next_h + dnext_c * next_c)")


# -- properties ---------------------------------------------------------------------------------
def check_upstream_untouched(ctx) -> None:
    (c,) = _backward_cases(ctx, ((3, 4, 2),))
    fwd = _forward_outputs(ctx.map(FWD, [(_args(c["inp"]), {})], keep=CACHE)[0], c["inp"],
                           ctx.tensor_device)
    _, (args, kwargs) = ctx.call_with_inputs(BWD, c["dnext_h"].copy(), c["dnext_c"].copy(), fwd[2])
    try:
        assert_unchanged({"dnext_h": c["dnext_h"], "dnext_c": c["dnext_c"]}, args, kwargs, fn=BWD,
                         names=BWD_PARAMS)
    except Fail as exc:
        raise Fail(str(exc) + ". The caller still needs its upstream gradients (an RNN adds "
                   "dnext_c from the next time step): write dc = dnext_c + ..., not "
                   "dnext_c += ...") from None


def check_inputs_untouched(ctx) -> None:
    inp = make_inputs(ctx.rng, 3, 4, 2)
    _, (args, kwargs) = ctx.call_with_inputs(FWD, *(a.copy() for a in _args(inp)))
    assert_unchanged(inp, args, kwargs, fn=FWD, names=FWD_PARAMS)


def probe(ctx) -> None:
    inp = make_inputs(ctx.rng, 2, 3, 2)
    _, _, cache = _forward_outputs(ctx.map(FWD, [(_args(inp), {})], keep=CACHE)[0], inp, ctx.tensor_device)
    grads = expect_tuple(ctx.call(BWD, np.ones((2, 2)), np.ones((2, 2)), cache), 6, fn=BWD,
                         names="(dx, dprev_h, dprev_c, dWx, dWh, db)")
    for value, name, like in zip(grads, GRADS, FWD_PARAMS):
        expect_array(value, fn=BWD, what=name, shape=inp[like].shape, device=ctx.tensor_device)
