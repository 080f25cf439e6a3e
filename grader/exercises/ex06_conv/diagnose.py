"""ex06's diagnosis: what a wrong output shape, a wrong value or a crash says about the mistake.

These only choose messages and hints; every verdict comes from the oracle (:mod:`.oracles`).
"""
from __future__ import annotations

import math

import numpy as np

from grader.checks.common import Failures
from grader.checks.compare import assert_close
from grader.exercises.ex06_conv.oracles import Config, conv_oracle
from grader.spec import Fail


def _special(cfg: Config, passed: list) -> str:
    """What is special about ``cfg``, features the configurations in ``passed`` (which worked)
    did not have first: the likely reason the student's code raised on it. A feature some
    configuration that worked also had is not named (it cannot be the reason), unless nothing
    worked at all."""
    first, also = [], []

    def note(is_new: bool, text: str) -> None:
        if is_new:
            first.append(text)
        elif not passed:
            also.append(text)

    if cfg.HH > cfg.H or cfg.WW > cfg.W:
        new = bool(passed) and all(p.HH <= p.H and p.WW <= p.W for p in passed)
        note(new, ("this is the first kernel larger than the unpadded input" if new else
                   "the kernel is larger than the unpadded input here")
             + f" (HH={cfg.HH}, WW={cfg.WW}, H={cfg.H}, W={cfg.W}, pad={cfg.pad}): it fits the "
               "padded input, so slide it over x_pad (H + 2*pad rows, W + 2*pad columns), "
               "never over x")
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


def _shape_hint(cfg: Config, got: tuple) -> str:
    """Name the usual mistake that produces an output of shape ``got`` on ``cfg`` (a hint that
    starts with " Hint: ")."""
    fixed = _fixed_axes_hint(cfg, got)
    if fixed is not None:
        return fixed
    matches = _shape_candidates(cfg, got)
    if len(matches) == 1:
        return " Hint: " + matches[0]
    if matches:
        return " Hint: one of these (they give the same shape here): " + "; or ".join(matches)
    Ho, Wo = cfg.out_hw
    return (f" Hint: H_out = 1 + (H + 2*pad - HH) // stride = {Ho} and "
            f"W_out = 1 + (W + 2*pad - WW) // stride = {Wo}")


def _fixed_axes_hint(cfg: Config, got: tuple) -> str | None:
    """The hint for a wrong rank, batch or channel axis, or None when those are right."""
    N, C, F = cfg.N, cfg.C, cfg.F
    if len(got) != 4:
        return " Hint: out is (N, F, H_out, W_out)"
    if got[0] != N:
        return f" Hint: the first axis is the batch (N={N})"
    if got[1] != F:
        return (f" Hint: out has one channel per filter (F={F})"
                + (f"; yours has C={C}, the input's channels" if got[1] == C else ""))
    return None


def _shape_candidates(cfg: Config, got: tuple) -> list[str]:
    """Every usual mistake whose output size is ``got``'s (H_out, W_out) on ``cfg``: more than one
    when several give the same shape there (other configurations may tell them apart)."""
    N, H, W, F, HH, WW, s, p = (cfg.N, cfg.H, cfg.W, cfg.F, cfg.HH, cfg.WW, cfg.stride,
                                cfg.pad)
    if len(got) != 4 or got[0] != N or got[1] != F:
        return []
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
    return list(dict.fromkeys(hint for shape, hint in candidates
                              if hw == shape and shape != (Ho, Wo)))


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
        raise _Wrong(str(exc) + (f"\n  Hint: {text}" if text else ""), what,
                     diagnosed=bool(text)) from None


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
    ("a kernel larger than the unpadded input", lambda c: c.HH > c.H or c.WW > c.W,
     {k: "the kernel may be larger than x itself as long as it fits the padded input: slide it "
         "over x_pad (H + 2*pad rows, W + 2*pad columns), never over x"
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


def _key(exc: Fail, what: str) -> tuple:
    """What makes two failures the same mistake: the output and the specific hint (if any)."""
    text = str(exc)
    hint = text.split("Hint: ", 1)[1].split("\n")[0] if "Hint: " in text else ""
    shape = " has shape " in text.split("\n")[0]
    return (getattr(exc, "what", what), shape, hint if getattr(exc, "diagnosed", False) or shape else "")


def _groups(failures: list, what: str) -> list[list]:
    """The failures grouped by mistake, in the order of their first configuration.

    Output-shape failures that name candidate mistakes (``exc.candidates``, see
    :func:`_shape_candidates`) are grouped by the candidate that explains most of them, so a
    shape that two mistakes explain on one configuration is resolved by the others; each such
    failure's hint becomes that candidate alone.
    """
    order = {id(exc): k for k, (_, exc) in enumerate(failures)}
    groups: dict[tuple, list] = {}
    shaped = [(c, e) for c, e in failures if getattr(e, "candidates", None)]
    for cfg, exc in failures:
        if not getattr(exc, "candidates", None):
            groups.setdefault(_key(exc, what), []).append((cfg, exc))
    while shaped:
        counts: dict[str, int] = {}
        for _, e in shaped:
            for h in e.candidates:
                counts[h] = counts.get(h, 0) + 1
        best = max(shaped[0][1].candidates, key=lambda h: counts[h])
        chosen = [(c, e) for c, e in shaped if best in e.candidates]
        shaped = [(c, e) for c, e in shaped if best not in e.candidates]
        group = []
        for c, e in chosen:
            w = _Wrong(f"{e.base} Hint: {best}", "out", diagnosed=True)
            order[id(w)] = order[id(e)]
            group.append((c, w))
        groups[("shape", best)] = group
    return sorted(groups.values(), key=lambda g: order[id(g[0][1])])


#: At most this many distinct mistakes are spelled out per check (the rest are counted).
MAX_MISTAKES = 3


def _judge(cases: list, judge, what: str) -> None:
    """Run ``judge(case)`` on every case (``case[0]`` is its :class:`Config`) and fail naming
    every distinct mistake seen (:func:`_key`: a wrong shape, a recognised mistake, a wrong
    value), each with its first configuration and, when the configurations wrong that way share
    a feature of :data:`FEATURES` that some passing configuration lacks, that feature (the one
    with the fewest passing configurations that have it wins; ties go to the earlier entry). So
    a padding bug does not hide an output-size bug. A crash of the student's code on some
    configurations is reported with the other mistakes (its traceback once, by the engine), or
    re-raised when it is all there is."""
    from grader.engine import StudentRaised
    failures, passed, crashes = [], [], []
    for case in cases:
        try:
            judge(case)
            passed.append(case[0])
        except Fail as exc:
            failures.append((case[0], exc))
        except StudentRaised as exc:
            crashes.append((case[0], exc))
    if not failures:
        if crashes:
            raise crashes[0][1]
        return
    groups = _groups(failures, what)
    several = len(groups) > 1
    parts = []
    for items in groups[:MAX_MISTAKES]:
        cfg, exc = items[0]
        kind = getattr(exc, "what", what)
        failed = [c for c, _ in items]
        msg = str(exc) + f"\n  Wrong {'this way ' if several else ''}on {len(failed)} of " \
                         f"{len(cases)} configurations"
        best = None
        for name, pred, hints in FEATURES if len(failed) > 1 else ():   # one case proves no pattern
            lacking = [c for c in passed if not pred(c)]
            if lacking and all(pred(c) for c in failed):
                precision = len(failed) / (len(failed) + len(passed) - len(lacking))
                if best is None or precision > best[0]:
                    best = (precision, name, hints.get(kind, ""), len(lacking))
        if best is not None:
            msg += (f"; every one wrong this way has {best[1]}, and {best[3]} "
                    f"configuration{'s' if best[3] > 1 else ''} without it "
                    f"{'are' if best[3] > 1 else 'is'} right." if several else
                    f"; every wrong one has {best[1]}, and the configurations without it are "
                    "right.")
            if not getattr(exc, "diagnosed", False) and best[2]:
                msg += f"\n  Hint: {best[2]}"
        else:
            msg += "."
        parts.append(msg)
    more = len(groups) - MAX_MISTAKES
    text = "\n  Also: ".join(parts) + (f"\n  (and {more} more kinds of mistake)" if more > 0 else "")
    if crashes:
        cfg, exc = crashes[0]
        label = cfg.describe() + (f" and {len(crashes) - 1} more configurations"
                                  if len(crashes) > 1 else "")
        raise Failures(text + f"\n  Also, on {label}: {exc.fn} crashed:", (exc.fn, exc.error),
                       label)
    raise Fail(text)




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
