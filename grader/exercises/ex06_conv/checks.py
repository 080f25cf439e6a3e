"""Checks of ex06 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grader.checks.common import assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import (assert_close, describe_shape, expect_array, expect_tuple,
                                   rel_error, unwrap)
from grader.checks.gradients import H as STEP, compare_gradient, numerical_gradient, probe_coords
from grader.engine import StudentRaised
from grader.spec import Check, Exercise, Fail, Function

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
#: large as the padded input, pad = 2 around a 3x3 input.
EDGE_CONFIGS = (
    Config(1, 2, 8, 8, 3, 3, 3, 3, 0),     # 5/3: H_out = 2 (rounding gives 3)
    Config(2, 1, 7, 9, 2, 2, 3, 2, 1),     # 7/2 and 8/2
    Config(1, 3, 7, 6, 2, 3, 4, 3, 2),     # 8/3 and 6/3
    Config(1, 1, 6, 5, 1, 2, 2, 2, 1),     # N = C = F = 1, 6/2 and 5/2
    Config(2, 3, 5, 4, 2, 1, 1, 2, 0),     # 1x1 kernel, stride 2: whole columns never read
    Config(2, 2, 4, 5, 3, 4, 5, 1, 0),     # kernel = input: a 1x1 output
    Config(1, 2, 3, 3, 2, 3, 3, 2, 2),     # pad 2 on a 3x3 input, stride 2
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
def _map(ctx, fn: str, argsets: list, cfgs: list, **kw) -> list:
    """``ctx.map`` that, when the student raises, adds the configuration it raised on (and what
    is special about it) to the traceback the student sees."""
    before = ctx.calls
    try:
        return ctx.map(fn, argsets, **kw)
    except StudentRaised as exc:
        k = min(max(ctx.calls - before - 1, 0), len(cfgs) - 1)
        cfg = cfgs[k]
        worked = list(dict.fromkeys(c for c in cfgs[:k] if c != cfg))
        note = f"\n  (it raised on {cfg.describe()}"
        note += f", after {len(worked)} other configurations worked)" if worked else ")"
        special = _special(cfg, worked)
        if special:
            note += f"\n  Hint: {special}"
        error = dict(exc.error)
        error["traceback"] = (error.get("traceback") or "").rstrip() + note
        raise StudentRaised(exc.fn, error) from None


def _special(cfg: Config, passed: list) -> str:
    """What is special about ``cfg``, features the configurations in ``passed`` (which worked)
    did not have first: the likely reason the student's code raised on it."""
    first, also = [], []

    def note(is_new: bool, text: str) -> None:
        (first if is_new else also).append(text)

    if cfg.HH != cfg.WW:
        new = bool(passed) and all(p.HH == p.WW for p in passed)
        note(new, ("this is the first non-square kernel" if new else "the kernel is not square here")
             + f" (HH={cfg.HH}, WW={cfg.WW}): use HH for the height and WW for the width everywhere")
    if cfg.floors:
        new = bool(passed) and not any(p.floors for p in passed)
        note(new, f"(H + 2*pad - HH) / stride = {cfg.H + 2 * cfg.pad - cfg.HH}/{cfg.stride} or "
                  f"(W + 2*pad - WW) / stride = {cfg.W + 2 * cfg.pad - cfg.WW}/{cfg.stride} is not a "
                  f"whole number here: H_out = 1 + (H + 2*pad - HH) // stride = {cfg.out_hw[0]} and "
                  f"W_out = {cfg.out_hw[1]} use the floor (not round or ceil), and the last "
                  "rows/columns of the padded input are never read")
    if cfg.pad == 0 and passed and all(p.pad > 0 for p in passed):
        note(True, "this is the first pad = 0: `a[pad:-pad]` is empty when pad = 0; slice with "
                   "pad:pad + H")
    if cfg.pad > 0 and passed and all(p.pad == 0 for p in passed):
        note(True, f"this is the first pad > 0 (pad={cfg.pad}): the padded input has H + 2*pad "
                   "rows and W + 2*pad columns, x sits in the middle")
    if cfg.stride > 1 and passed and all(p.stride == 1 for p in passed):
        note(True, f"this is the first stride > 1 (stride={cfg.stride}): window (i, j) starts at "
                   "(i*stride, j*stride)")
    if cfg.H != cfg.W and passed and all(p.H == p.W for p in passed):
        note(True, f"this is the first non-square input (H={cfg.H}, W={cfg.W})")
    return "; ".join(first + also)


def _forward(ctx, cases: list, judge_out: bool = True) -> list:
    """Run conv_forward on each ``(cfg, inputs)`` in one batch.

    Args:
        judge_out: check ``out`` (type, device, shape, dtype, finite); backward checks pass
            False, so that they judge the backward pass even when the forward output is wrong.

    Returns:
        [(cfg, inputs, out, cache)]: ``out`` the student's output as a float64 array of the
        contract's shape (None when not judged), ``cache`` an opaque handle.

    Raises:
        Fail: a malformed return value, with a diagnosis of a wrong output shape.
    """
    argsets = [((d["x"], d["w"], d["b"], cfg.stride, cfg.pad), {}) for cfg, d in cases]
    results = _map(ctx, FORWARD, argsets, [c for c, _ in cases], keep=(1,))
    done = []
    for (cfg, d), r in zip(cases, results):
        out, cache = expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")
        done.append((cfg, d, _out_array(cfg, out, ctx.tensor_device) if judge_out else None, cache))
    return done


def _out_array(cfg: Config, out, device) -> np.ndarray:
    """The student's ``out`` as an array of the contract's shape, with a diagnosis otherwise."""
    a = unwrap(out, fn=FORWARD, what="out", device=device)
    if str(a.dtype) == "float32":
        raise Fail(f"{FORWARD}: out has dtype float32, expected float64 (the inputs' dtype) on "
                   f"{cfg.describe()}. Hint: torch.zeros(...) without dtype= makes float32 "
                   "tensors; use x.new_zeros(...) or torch.zeros(..., dtype=x.dtype, "
                   "device=x.device)")
    if tuple(a.shape) != cfg.out_shape:
        raise Fail(f"{FORWARD}: out has shape {describe_shape(a)}, expected "
                   f"{describe_shape(np.empty(cfg.out_shape))} on {cfg.describe()}."
                   + _shape_hint(cfg, tuple(a.shape)))
    return expect_array(out, fn=FORWARD, what="out", shape=cfg.out_shape, device=device)


def _backward(ctx, done: list) -> list:
    """Run conv_backward on each forward result ``(cfg, inputs, out, cache)`` in one batch.

    Returns:
        [(cfg, inputs, out, (dx, dw, db))] with the gradients as returned (each check judges
        the one it is about, see :func:`_grads`).
    """
    argsets = [((d["dout"], cache), {}) for _, d, _, cache in done]
    results = _map(ctx, BACKWARD, argsets, [c for c, *_ in done])
    return [(cfg, d, out, expect_tuple(r, 3, fn=BACKWARD, names="(dx, dw, db)"))
            for (cfg, d, out, _), r in zip(done, results)]


# -- diagnosis --------------------------------------------------------------------------------------
def _shape_hint(cfg: Config, got: tuple) -> str:
    """Name the usual mistake that produces an output of shape ``got`` on ``cfg``."""
    N, C, H, W, F, HH, WW, s, p = (cfg.N, cfg.C, cfg.H, cfg.W, cfg.F, cfg.HH, cfg.WW,
                                   cfg.stride, cfg.pad)
    if len(got) != 4:
        return " Hint: out is (N, F, H_out, W_out)"
    if got[0] != N:
        return f" Hint: the first axis is the batch (N={N})"
    if got[1] != F:
        return (f" Hint: out has one channel per filter (F={F})"
                + (f"; yours has C={C}, the input's channels" if got[1] == C else ""))
    Ho, Wo = cfg.out_hw
    hw = tuple(got[2:])

    def size(n, k, pad, stride, rounding=math.floor):
        return 1 + int(rounding((n + pad - k) / stride))

    def rnd(v):
        return math.floor(v + 0.5)

    candidates = [
        ((size(H, HH, 2 * p, s, round), size(W, WW, 2 * p, s, round)),
         "the output size is rounded: H_out = 1 + (H + 2*pad - HH) // stride uses the floor "
         "(integer division), not round()"),
        ((size(H, HH, 2 * p, s, rnd), size(W, WW, 2 * p, s, rnd)),
         "the output size is rounded: H_out = 1 + (H + 2*pad - HH) // stride uses the floor "
         "(integer division), not round()"),
        ((size(H, HH, 2 * p, s, math.ceil), size(W, WW, 2 * p, s, math.ceil)),
         "the output size is rounded up: H_out = 1 + (H + 2*pad - HH) // stride uses the floor, "
         "not the ceiling"),
        ((Ho, size(W, HH, 2 * p, s)),
         f"W_out was computed with HH={HH} instead of WW={WW}: the kernel is not square"),
        ((size(H, WW, 2 * p, s), Wo),
         f"H_out was computed with WW={WW} instead of HH={HH}: the kernel is not square"),
        ((size(H, WW, 2 * p, s), size(W, HH, 2 * p, s)),
         "HH and WW are swapped: w has shape (F, C, HH, WW), height first"),
        ((Wo, Ho), "H_out and W_out are swapped: out is (N, F, H_out, W_out)"),
        ((size(H, HH, 2 * p, 1), size(W, WW, 2 * p, 1)),
         f"the stride is ignored (stride={s}): H_out = 1 + (H + 2*pad - HH) // stride"),
        ((size(H, HH, p, s), size(W, WW, p, s)),
         "the input is padded on one side only: add `pad` zeros on the top AND bottom, left AND "
         "right (H + 2*pad rows)"),
        ((size(H, HH, 0, s), Wo),
         "only the width was padded (torch.nn.functional.pad(x, (pad, pad)) pads the last axis "
         "only; use (pad, pad, pad, pad))"),
        ((Ho, size(W, WW, 0, s)), "only the height was padded: pad the width too"),
        ((size(H, HH, 0, s), size(W, WW, 0, s)), f"the padding is missing (pad={p})"),
    ]
    matches = list(dict.fromkeys(hint for shape, hint in candidates
                                 if hw == shape and shape != (Ho, Wo)))
    if len(matches) == 1:
        return " Hint: " + matches[0]
    if matches:
        return " Hint: one of these (they give the same shape here): " + "; or ".join(matches)
    return (f" Hint: H_out = 1 + (H + 2*pad - HH) // stride = {Ho} and "
            f"W_out = 1 + (W + 2*pad - WW) // stride = {Wo}")


def _forward_hint(cfg: Config, d: dict, got: np.ndarray) -> str:
    """The mistake that explains a wrong forward output on ``cfg``, if it is a known one."""
    x, w, b, s, p = d["x"], d["w"], d["b"], cfg.stride, cfg.pad
    same = _matcher(got)
    if same(conv_oracle(x, w[:, :, ::-1, ::-1], b, s, p)):
        return ("your output is a true convolution (kernel flipped by 180 degrees); "
                "torch.nn.functional.conv2d computes a cross-correlation: out = sum w[f, c, p, q] * "
                "x_pad[n, c, i*stride + p, j*stride + q], with no flip")
    if same(conv_oracle(x, w, np.zeros_like(b), s, p)):
        return "the bias is missing: add b[f] to every output of filter f"
    if p > 0:
        for pads, where in (((2 * p, 0, 2 * p, 0), "top and left"),
                            ((0, 2 * p, 0, 2 * p), "bottom and right")):
            if same(conv_oracle(x, w, b, s, pads)):
                return (f"the input is padded on one side only (2*pad on the {where}): put x in "
                        "the middle, x_pad[:, :, pad:pad + H, pad:pad + W] = x")
    return ""


def _close(got: np.ndarray, expected: np.ndarray, hint, *, what: str, **kw) -> None:
    """:func:`assert_close`, computing the diagnosis ``hint()`` only when the values differ.

    Raises:
        _Wrong: the message of :func:`assert_close` plus the hint, tagged with ``what``.
    """
    try:
        assert_close(got, expected, what=what, **kw)
    except Fail as exc:
        text = hint()
        raise _Wrong(str(exc) + (f"\n  Hint: {text}" if text else ""), what) from None


def _matcher(got: np.ndarray):
    """``same(candidate)``: True when ``got`` equals ``candidate`` (same shape, float64 closeness)."""
    def same(candidate) -> bool:
        candidate = np.asarray(candidate)
        return candidate.shape == got.shape and bool(np.allclose(got, candidate, rtol=1e-6, atol=1e-8))
    return same


#: Features shared by failing configurations, most telling first: (predicate, text per output).
FEATURES = (
    ("stride > 1", lambda c: c.stride > 1,
     {"out": "each output (i, j) reads the window that starts at (i*stride, j*stride)",
      "dx": "in the backward pass, too, the window of output (i, j) starts at (i*stride, j*stride): "
            "add its gradient there, not at (i, j)",
      "dw": "dw sums dout[n, f, i, j] * x_pad[n, c, i*stride + p, j*stride + q]: the stride is "
            "needed in the backward pass too",
      "db": "db does not depend on the stride: sum dout over N, H_out and W_out"}),
    ("overlapping windows (stride < kernel size)", lambda c: c.overlaps,
     {"out": "windows overlap when stride < HH or WW: each output reads its own full window",
      "dx": "windows overlap here, so one input element gets gradient from several windows: ADD "
            "them up (dx_pad[...] += ...), never assign (=)",
      "dw": "every window contributes to dw: add the contributions up",
      "db": "db sums dout over every position"}),
    ("pad = 0", lambda c: c.pad == 0,
     {"out": "pad = 0 must work too",
      "dx": "`dx_pad[:, :, pad:-pad, pad:-pad]` is empty when pad = 0; cut the padding off with "
            "dx_pad[:, :, pad:pad + H, pad:pad + W]",
      "dw": "pad = 0 must work too", "db": "pad = 0 must work too"}),
    ("pad > 0", lambda c: c.pad > 0,
     {"out": "add `pad` zeros on all four sides: top, bottom, left and right",
      "dx": "dx is the gradient of the padded input with the padding cut off: "
            "dx = dx_pad[:, :, pad:pad + H, pad:pad + W]",
      "dw": "dw must be computed from the zero-padded input x_pad (the same one the forward used)",
      "db": "db does not depend on the padding: sum dout over N, H_out and W_out"}),
    ("a non-square kernel (HH != WW)", lambda c: c.HH != c.WW,
     {k: "the kernel is (HH, WW), not square: use HH for the height and WW for the width"
      for k in ("out", "dx", "dw", "db")}),
    ("a non-square input (H != W)", lambda c: c.H != c.W,
     {k: "the input is (H, W), not square: use H for the height and W for the width"
      for k in ("out", "dx", "dw", "db")}),
    ("N > 1", lambda c: c.N > 1,
     {"out": "every sample n of the batch gets its own output",
      "dx": "every sample n of the batch gets its own dx[n]",
      "dw": "dw sums the contributions of every sample of the batch (a sum, not a mean)",
      "db": "db sums dout over the whole batch (a sum, not a mean)"}),
    ("C > 1", lambda c: c.C > 1,
     {k: "sum over every input channel c: the filter w[f] has shape (C, HH, WW)"
      for k in ("out", "dx", "dw", "db")}),
    ("F > 1", lambda c: c.F > 1,
     {k: "filter f produces output channel f; dx sums the contributions of all F filters"
      for k in ("out", "dx", "dw", "db")}),
    ("an output size that needs the floor", lambda c: c.floors,
     {"out": "H_out = 1 + (H + 2*pad - HH) // stride: the last rows/columns of the padded input "
             "that do not fill a window are never read",
      "dx": "input rows/columns that no window reads (past the last window) get zero gradient",
      "dw": "only the H_out x W_out windows the forward read contribute to dw",
      "db": "db sums dout over its H_out x W_out positions"}),
)


class _Wrong(Fail):
    """A :class:`Fail` that knows which output (``out``, ``dx``, ``dw``, ``db``) was wrong, and
    whether its message already diagnoses the mistake with a specific hint (``diagnosed``: then
    :func:`_judge` adds the pattern it sees, not a second, generic hint)."""

    def __init__(self, message: str, what: str, diagnosed: bool = False):
        super().__init__(message)
        self.what = what
        self.diagnosed = diagnosed


def _judge(cases: list, judge, what: str) -> None:
    """Run ``judge(case)`` on every case (``case[0]`` is its :class:`Config`); fail with the first
    failure and, when the failing configurations share a feature of :data:`FEATURES` that some
    passing configuration lacks, a hint naming it (the feature with the fewest passing
    configurations that have it wins; ties go to the earlier entry)."""
    failures, passed = [], []
    for case in cases:
        try:
            judge(case)
            passed.append(case[0])
        except Fail as exc:
            failures.append((case[0], exc))
    if not failures:
        return
    cfg, exc = failures[0]
    what = getattr(exc, "what", what)
    failed = [c for c, _ in failures]
    msg = str(exc) + f"\n  Wrong on {len(failed)} of {len(cases)} configurations"
    best = None
    for name, pred, hints in FEATURES:
        lacking = [c for c in passed if not pred(c)]
        if lacking and all(pred(c) for c in failed):
            precision = len(failed) / (len(failed) + len(passed) - len(lacking))
            if best is None or precision > best[0]:
                best = (precision, name, hints.get(what, ""))
    if best is not None:
        msg += f"; every wrong one has {best[1]}, and the configurations without it are right."
        if not getattr(exc, "diagnosed", False):
            msg += f"\n  Hint: {best[2]}"
    raise Fail(msg + ("" if best else "."))


# -- checks -----------------------------------------------------------------------------------------
def _cases(ctx, cfgs) -> list:
    return [(cfg, _inputs(ctx.rng, cfg)) for cfg in cfgs]


def probe(ctx) -> None:
    """Signature probe: one forward and one backward on a small non-square configuration."""
    cfg = Config(2, 2, 5, 4, 3, 3, 3, 1, 1)
    (_, _, _, (dx, dw, db)), = _backward(ctx, _forward(ctx, _cases(ctx, [cfg])))
    _grads(cfg, (dx, dw, db), ctx.tensor_device)


def _grads(cfg: Config, grads: tuple, dev, only: str | None = None) -> tuple:
    """Unwrap (dx, dw, db), checking type, device, dtype, shape and finiteness.

    Args:
        only: check just this one ("dx", "dw" or "db"; the others come back as None), so the
            dw check does not fail for a wrong dx and so on.

    Raises:
        _Wrong: naming the gradient; a wrongly shaped dx gets its own diagnosis (``pad:-pad``).
    """
    dx, dw, db = grads
    a = unwrap(dx, fn=BACKWARD, what="dx", device=dev) if only in (None, "dx") else None
    if a is not None and tuple(a.shape) != cfg.x_shape:
        hint = " Hint: dx has the shape of x."
        padded = (cfg.N, cfg.C, cfg.H + 2 * cfg.pad, cfg.W + 2 * cfg.pad)
        if cfg.pad == 0 and 0 in a.shape:
            hint = (" Hint: with pad = 0, `dx_pad[:, :, pad:-pad, pad:-pad]` is "
                    "`dx_pad[:, :, 0:0, 0:0]`, an empty slice; use dx_pad[:, :, pad:pad + H, "
                    "pad:pad + W]")
        elif tuple(a.shape) == padded:
            hint = " Hint: you returned the gradient of the padded input; cut the padding off"
        raise _Wrong(f"{BACKWARD}: dx has shape {describe_shape(a)}, expected "
                     f"{describe_shape(np.empty(cfg.x_shape))} (the shape of x) on "
                     f"{cfg.describe()}." + hint, "dx",
                     diagnosed=hint != " Hint: dx has the shape of x.")
    arrays = []
    for name, value, shape in (("dx", dx, cfg.x_shape), ("dw", dw, cfg.w_shape), ("db", db, (cfg.F,))):
        if only not in (None, name):
            arrays.append(None)
            continue
        try:
            arrays.append(expect_array(value, fn=BACKWARD, what=name, shape=shape, device=dev))
        except Fail as exc:
            raise _Wrong(f"{exc} (on {cfg.describe()})", name) from None
    return tuple(arrays)


def check_forward(ctx, cfgs=CONFIGS) -> None:
    """``out`` of conv_forward against torch.nn.functional.conv2d on every configuration of
    ``cfgs`` (one batch of calls). Fails naming the first wrong configuration, a recognised
    mistake (flipped kernel, missing bias, one-sided padding, or from the shape: rounding, HH
    for WW, stride ignored...) and the feature the wrong configurations share."""
    done = _forward(ctx, _cases(ctx, cfgs))

    def judge(case):
        cfg, d, out, _ = case
        expected = conv_oracle(d["x"], d["w"], d["b"], cfg.stride, cfg.pad)
        _close(out, expected, lambda: _forward_hint(cfg, d, out), fn=FORWARD, what="out",
               on=cfg.describe())

    _judge(done, judge, "out")


def _backward_cases(ctx, cfgs, judge_out: bool = False) -> list:
    """Forward then backward on seeded inputs for each configuration, with the oracle's answers.

    Returns:
        [(cfg, inputs, student out or None, student (dx, dw, db) as returned,
        oracle (out, dx, dw, db))].
    """
    done = _forward(ctx, _cases(ctx, cfgs), judge_out)
    return [(cfg, d, out, grads, conv_oracle(d["x"], d["w"], d["b"], cfg.stride, cfg.pad, d["dout"]))
            for cfg, d, out, grads in _backward(ctx, done)]


def _flipped_grads(cfg, d):
    """Gradients of a true convolution (flipped kernel), mapped back to w's orientation."""
    wf = d["w"][:, :, ::-1, ::-1].copy()
    _, dx, dw, db = conv_oracle(d["x"], wf, d["b"], cfg.stride, cfg.pad, d["dout"])
    return dx, dw[:, :, ::-1, ::-1], db


def check_backward_dx(ctx) -> None:
    """dx of conv_backward (on the student's own cache) against torch autograd of conv2d on the
    main configurations; a wrongly shaped dx (``pad:-pad`` with pad = 0) is diagnosed."""
    cases = _backward_cases(ctx, CONFIGS)

    def judge(case):
        cfg, d, _, got, exp = case
        dx, _, _ = _grads(cfg, got, ctx.tensor_device, only="dx")

        def hint():
            if _matcher(dx)(_flipped_grads(cfg, d)[0]):
                return ("your dx is that of a true convolution (kernel flipped): the forward is a "
                        "cross-correlation, so dx_pad[n, c, i*stride + p, j*stride + q] += "
                        "w[f, c, p, q] * dout[n, f, i, j], with w not flipped")
            if not np.any(dx):
                return "dx is all zeros: every window adds w * dout back onto the input it read"
            return ""

        _close(dx, exp[1], hint, fn=BACKWARD, what="dx", on=cfg.describe())

    _judge(cases, judge, "dx")


def check_backward_dw(ctx) -> None:
    """dw of conv_backward against torch autograd; recognises a flipped dw and a batch mean."""
    cases = _backward_cases(ctx, CONFIGS)

    def judge(case):
        cfg, d, _, got, exp = case
        _, dw, _ = _grads(cfg, got, ctx.tensor_device, only="dw")

        def hint():
            same = _matcher(dw)
            if same(exp[2][:, :, ::-1, ::-1]):
                return ("your dw is flipped by 180 degrees (a true convolution): dw[f, c, p, q] = "
                        "sum dout[n, f, i, j] * x_pad[n, c, i*stride + p, j*stride + q]")
            if cfg.N > 1 and same(exp[2] / cfg.N):
                return f"your dw is the mean over the batch (divided by N={cfg.N}); it must be the sum"
            return ""

        _close(dw, exp[2], hint, fn=BACKWARD, what="dw", on=cfg.describe())

    _judge(cases, judge, "dw")


def _db_hint(cfg: Config, db: np.ndarray, expected: np.ndarray) -> str:
    """Why ``db`` (F,) differs from the oracle's ``expected``: a mean instead of a sum, zeros."""
    same = _matcher(db)
    Ho, Wo = cfg.out_hw
    for divisor, what in ((cfg.N * Ho * Wo, f"N*H_out*W_out = {cfg.N * Ho * Wo}"),
                          (cfg.N, f"N = {cfg.N}"), (Ho * Wo, f"H_out*W_out = {Ho * Wo}")):
        if divisor > 1 and same(expected / divisor):
            return (f"your db is averaged (divided by {what}); db[f] is the SUM of "
                    "dout[:, f, :, :] over N, H_out and W_out")
    if not np.any(db):
        return "db is all zeros: db[f] = sum of dout[:, f, :, :]"
    return "db[f] is the sum of dout[:, f, :, :] over N, H_out and W_out"


def check_backward_db(ctx) -> None:
    """db of conv_backward against torch autograd; recognises the usual averages."""
    cases = _backward_cases(ctx, CONFIGS)

    def judge(case):
        cfg, d, _, got, exp = case
        _, _, db = _grads(cfg, got, ctx.tensor_device, only="db")
        _close(db, exp[3], lambda: _db_hint(cfg, db, exp[3]), fn=BACKWARD, what="db",
               on=cfg.describe())

    _judge(cases, judge, "db")


def _unread(cfg: Config) -> np.ndarray:
    """Mask (H, W) of input positions that no window reads (below/right of the last window)."""
    Ho, Wo = cfg.out_hw
    rows = np.arange(cfg.H) + cfg.pad >= (Ho - 1) * cfg.stride + cfg.HH
    cols = np.arange(cfg.W) + cfg.pad >= (Wo - 1) * cfg.stride + cfg.WW
    return rows[:, None] | cols[None, :]


def check_edge_configs(ctx) -> None:
    """Forward and backward on output sizes that need the floor and other edge shapes."""
    cases = _backward_cases(ctx, EDGE_CONFIGS, judge_out=True)
    names = ("dx", "dw", "db")

    def judge(case):
        cfg, d, out, got, exp = case
        _close(out, exp[0], lambda: _forward_hint(cfg, d, out), fn=FORWARD, what="out",
               on=cfg.describe())
        for name, g, e in zip(names, _grads(cfg, got, ctx.tensor_device), exp[1:]):
            def hint(name=name, g=g, e=e):
                if name == "db":
                    return _db_hint(cfg, g, e)
                if name == "dx" and np.any(g[:, :, _unread(cfg)] != 0):
                    return ("rows/columns of the input past the last window are never read, so "
                            "their gradient is zero; yours is not")
                return ""
            _close(g, e, hint, fn=BACKWARD, what=name, on=cfg.describe())

    _judge(cases, judge, "out")


def numerical_check(ctx) -> None:
    """conv_backward against central differences of the student's own conv_forward: every entry
    on a tiny shape, random entries plus random directions on a realistic one."""
    plans = []
    for cfg, full in ((TINY, True), (REALISTIC, False)):
        d = _inputs(ctx.rng, cfg)
        probes = {}
        for name in ("x", "w", "b"):
            shape = d[name].shape
            coords = probe_coords(shape, ctx.rng, 10**6 if full else (cfg.F if name == "b" else 10))
            dirs = [] if full else [ctx.rng.normal(size=shape) for _ in range(2 if name == "b" else 3)]
            probes[name] = (coords, dirs)
        plans.append((cfg, d, probes))

    # The student's analytic gradients at each base point (one forward + one backward each).
    done = _forward(ctx, [(cfg, d) for cfg, d, _ in plans])
    analytic = [_grads(cfg, grads, ctx.tensor_device) for cfg, _, _, grads in _backward(ctx, done)]

    for (cfg, d, probes), grads in zip(plans, analytic):
        # Every perturbed point of x, w and b in one batch of forward calls.
        points, spans = [], {}
        for name in ("x", "w", "b"):
            coords, dirs = probes[name]
            start = len(points)
            for c in coords:
                for sign in (1.0, -1.0):
                    p = {k: d[k] for k in ("x", "w", "b")}
                    p[name] = d[name].copy()
                    p[name][c] += sign * STEP
                    points.append(p)
            for v in dirs:
                for sign in (1.0, -1.0):
                    p = {k: d[k] for k in ("x", "w", "b")}
                    p[name] = d[name] + sign * STEP * v
                    points.append(p)
            spans[name] = (start, len(points))
        argsets = [((p["x"], p["w"], p["b"], cfg.stride, cfg.pad), {}) for p in points]
        outs = _map(ctx, FORWARD, argsets, [cfg] * len(argsets), keep=(1,))
        values = [_out_array(cfg, expect_tuple(o, 2, fn=FORWARD, names="(out, cache)")[0],
                             ctx.tensor_device) for o in outs]
        shape = "every entry" if cfg is TINY else "random entries and directions"
        for name, g in zip(("x", "w", "b"), grads):
            coords, dirs = probes[name]
            lo, hi = spans[name]
            chunk = values[lo:hi]

            def evaluate_many(pts, chunk=chunk):
                # Already evaluated above, in numerical_gradient's order (coordinates +h, -h,
                # then directions +h, -h): one round trip for x, w and b together.
                assert len(pts) == len(chunk)
                return chunk

            num, num_dir = numerical_gradient(evaluate_many, d, name, d["dout"], coords,
                                              directions=dirs)
            compare_gradient(g, num, coords, fn=BACKWARD, what=f"d{name}",
                             against="central differences of your conv_forward",
                             on=f"{cfg.describe()} ({shape})",
                             analytic_dir=[float(np.sum(g * v)) for v in dirs], numeric_dir=num_dir,
                             hint="conv_backward must be the derivative of your conv_forward "
                                  "(sum(dout * out)); check how each window's dout is spread back")


def check_inputs_untouched(ctx) -> None:
    """x, w, b (forward) and dout (backward) come back unchanged; the cache survives a backward."""
    cfg = Config(2, 3, 7, 5, 3, 3, 3, 2, 1)
    d = _inputs(ctx.rng, cfg)
    (r, (args, kwargs)), = ctx.map(FORWARD, [((d["x"].copy(), d["w"].copy(), d["b"].copy(),
                                              cfg.stride, cfg.pad), {})], inputs=True, keep=(1,))
    assert_unchanged({"x": d["x"], "w": d["w"], "b": d["b"]}, args, kwargs, fn=FORWARD,
                     names=("x", "w", "b", "stride", "pad"))
    _, cache = expect_tuple(r, 2, fn=FORWARD, names="(out, cache)")
    (g1, (args, kwargs)), = ctx.map(BACKWARD, [((d["dout"].copy(), cache), {})], inputs=True)
    assert_unchanged({"dout": d["dout"]}, args, kwargs, fn=BACKWARD, names=("dout", "cache"))
    # A second backward on the same cache must give what a backward on a fresh cache gives (the
    # student's own answers compared with each other: right or wrong, they must not drift).
    dout2 = ctx.rng.normal(size=cfg.out_shape)
    again, = ctx.map(BACKWARD, [((dout2, cache), {})])
    fresh_out, = ctx.map(FORWARD, [((d["x"], d["w"], d["b"], cfg.stride, cfg.pad), {})], keep=(1,))
    fresh, = ctx.map(BACKWARD, [((dout2, expect_tuple(fresh_out, 2, fn=FORWARD,
                                                       names="(out, cache)")[1]), {})])
    dev = ctx.tensor_device
    reused = _grads(cfg, expect_tuple(again, 3, fn=BACKWARD, names="(dx, dw, db)"), dev)
    clean = _grads(cfg, expect_tuple(fresh, 3, fn=BACKWARD, names="(dx, dw, db)"), dev)
    for name, g, e in zip(("dx", "dw", "db"), reused, clean):
        if not np.allclose(g, e, rtol=1e-12, atol=1e-12):
            raise Fail(f"{BACKWARD} gives another {name} when called a second time on the same "
                       f"cache than on a fresh one (relative error {rel_error(g, e):.2g}): the first "
                       f"call changed the cache from {FORWARD} in place. Hint: do not write into "
                       "cached tensors (+=, [...] =, zero_() and other *_ methods); allocate new "
                       "buffers such as torch.zeros_like(x_pad)")
