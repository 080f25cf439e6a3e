"""ex11 diagnoses: the usual mistakes, recomputed, and the feature wrong configurations share.

A recogniser recomputes the layer with one mistake made on purpose (average instead of max,
windows that ignore the stride, gradients assigned instead of added, ...) and a hint is given
only when the student's output equals that recomputation on the input where it failed (and the
recomputation differs from the right answer there): a hint is always a fact about the observed
values, never a guess. The verdict itself always comes from the oracle.
"""
from __future__ import annotations

import math

import numpy as np

from grader.exercises.ex11_pool.configs import Config
from grader.spec import Fail


# -- windows and the deliberate mistakes (numpy, grader side) -----------------------------------
def windows(x: np.ndarray, ph: int, pw: int, sh: int, sw: int, Ho: int, Wo: int):
    """The (N, C, Ho, Wo, ph, pw) windows of ``x`` starting at (i*sh, j*sw), or None when the
    input has fewer than Ho x Wo such windows."""
    if ph > x.shape[2] or pw > x.shape[3]:
        return None
    view = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::sh, ::sw]
    if view.shape[2] < Ho or view.shape[3] < Wo:
        return None
    return view[:, :, :Ho, :Wo]


def forward_variants(cfg: Config, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(hint, out) for each recognised forward mistake that is computable on ``cfg``."""
    Ho, Wo = cfg.out_hw
    ph, pw, s = cfg.args
    found = []
    win = windows(x, ph, pw, s, s, Ho, Wo)
    found.append(("out is the mean of each window (average pooling); max pooling keeps the "
                  "largest value", win.mean(axis=(-2, -1))))
    found.append(("the maximum is also taken over the channels: pool every channel on its own "
                  "(the maximum over the window's rows and columns only, dims (-2, -1))",
                  np.broadcast_to(win.max(axis=(1, -2, -1))[:, None], (cfg.N, cfg.C, Ho, Wo))))
    found.append(("the maximum of a window starts from 0 (or the output buffer is zeros and "
                  "you take the maximum with it): windows of negative numbers give 0. Start "
                  "from the window's own values", np.maximum(win.max(axis=(-2, -1)), 0.0)))
    for (sh, sw), hint in (((1, 1), f"the stride is ignored (stride={s}): window (i, j) starts "
                                    "at (i*stride, j*stride), not at (i, j)"),
                           ((ph, pw), f"the windows step by the pool size ({ph}x{pw}), not by "
                                      f"stride={s}: window (i, j) starts at (i*stride, j*stride)")):
        other = windows(x, ph, pw, sh, sw, Ho, Wo)
        if other is not None and (sh, sw) != (s, s):
            found.append((hint, other.max(axis=(-2, -1))))
    swapped = windows(x, pw, ph, s, s, Ho, Wo)
    if swapped is not None and ph != pw:
        found.append(("the window is pool_width rows high and pool_height columns wide: height "
                      "and width are swapped (rows go with pool_height)", swapped.max(axis=(-2, -1))))
    return found


def _argmax_positions(win: np.ndarray, pw_div: int) -> tuple[np.ndarray, np.ndarray]:
    flat = win.reshape(win.shape[:4] + (-1,)).argmax(axis=-1)
    return flat // pw_div, flat % pw_div


def _route(cfg: Config, x, dout, *, mode: str = "add", starts=None, div=None):
    """dx of a max-pooling backward made with one mistake (None when not computable).

    mode: ``add`` (right), ``assign`` (dx[argmax] = dout, later windows overwrite earlier
    ones), ``assign_window`` (dx[window] = mask * dout: zeros overwrite too), ``all`` (dout to
    every element of the window), ``mean`` (dout / (ph*pw) to every element).
    starts: the windows' step (sh, sw) when it is not the stride. div: the width used to turn the
    flat argmax into (row, column) when it is not pool_width.
    """
    Ho, Wo = cfg.out_hw
    ph, pw, s = cfg.args
    sh, sw = starts or (s, s)
    win = windows(x, ph, pw, sh, sw, Ho, Wo)
    if win is None:
        return None
    p, q = _argmax_positions(win, div or pw)
    rows_hi = (Ho - 1) * sh + p.max(initial=0)
    cols_hi = (Wo - 1) * sw + q.max(initial=0)
    if rows_hi >= cfg.H or cols_hi >= cfg.W:      # the student's code would have raised
        return None
    dx = np.zeros_like(x)
    n_idx, c_idx = np.indices((cfg.N, cfg.C))
    for i in range(Ho):
        for j in range(Wo):
            g = dout[:, :, i, j]
            r0, c0 = i * sh, j * sw
            if mode in ("all", "mean"):
                dx[:, :, r0:r0 + ph, c0:c0 + pw] += (g / (ph * pw) if mode == "mean" else g)[:, :, None, None]
                continue
            rows, cols = r0 + p[:, :, i, j], c0 + q[:, :, i, j]
            if mode == "assign_window":
                dx[:, :, r0:r0 + ph, c0:c0 + pw] = 0.0
            if mode == "add":
                np.add.at(dx, (n_idx, c_idx, rows, cols), g)
            else:
                dx[n_idx, c_idx, rows, cols] = g
    return dx


def backward_variants(cfg: Config, x, dout) -> list[tuple[str, np.ndarray]]:
    """(hint, dx) for each recognised backward mistake computable on ``cfg``."""
    ph, pw, s = cfg.args
    found = [
        ("dx[...] = ... overwrites: where windows overlap, an element that is the maximum of "
         "several windows must receive the SUM of their gradients (dx[...] += ...)",
         _route(cfg, x, dout, mode="assign")),
        ("each window's mask is assigned over the whole window (dx[window] = mask * dout): its "
         "zeros erase the gradient an overlapping window put there. Add it (dx[window] += mask * "
         "dout)", _route(cfg, x, dout, mode="assign_window")),
        ("dout goes to every element of the window; only the window's maximum gets it (the others "
         "did not change the output)", _route(cfg, x, dout, mode="all")),
        ("dout is spread evenly over the window (the backward pass of average pooling); max "
         "pooling sends it all to the window's maximum", _route(cfg, x, dout, mode="mean")),
        (f"the gradient goes to the maximum of the window that starts at (i, j): in the backward "
         f"pass too, window (i, j) starts at (i*stride, j*stride) (stride={s})",
         _route(cfg, x, dout, starts=(1, 1)) if s != 1 else None),
        (f"the gradient goes to windows that step by the pool size ({ph}x{pw}), not by stride={s}",
         _route(cfg, x, dout, starts=(ph, pw)) if (ph, pw) != (s, s) else None),
        (f"the window's flat argmax k is turned into (k // pool_height, k % pool_height); the "
         f"window's rows have pool_width={pw} elements: (k // pool_width, k % pool_width) (or "
         "np.unravel_index(k, (pool_height, pool_width)))",
         _route(cfg, x, dout, div=ph) if ph != pw else None),
    ]
    found.append(("dx is all zeros: every window sends dout to the position of its maximum",
                  np.zeros_like(x)))
    return [(h, v) for h, v in found if v is not None]


def matcher(got: np.ndarray):
    """``same(candidate)``: ``got`` equals ``candidate`` (same shape, float64 closeness)."""
    def same(candidate) -> bool:
        candidate = np.asarray(candidate)
        return candidate.shape == got.shape and bool(np.allclose(got, candidate, rtol=1e-6, atol=1e-8))
    return same


def value_hint(got: np.ndarray, right: np.ndarray, variants) -> str:
    """The hint of the first variant that explains ``got`` (and is not the right answer)."""
    same = matcher(got)
    for hint, value in variants:
        if same(value) and not matcher(right)(value):
            return hint
    return ""


# -- output sizes --------------------------------------------------------------------------------
def shape_hint(cfg: Config, got: tuple) -> str:
    """Name the usual mistake that gives an output of shape ``got`` on ``cfg`` (" Hint: ...")."""
    N, C, H, W = cfg.x_shape
    ph, pw, s = cfg.args
    if len(got) != 4:
        return " Hint: out is (N, C, H_out, W_out)"
    if tuple(got[:2]) != (N, C):
        return f" Hint: out keeps the batch and channel axes of x: (N={N}, C={C}, H_out, W_out)"
    Ho, Wo = cfg.out_hw

    def size(n, k, stride, rounding=math.floor):
        return 1 + int(rounding((n - k) / stride))

    def half_up(v):
        return math.floor(v + 0.5)

    rounded = "the output size is rounded: H_out = 1 + (H - pool_height) // stride takes the floor " \
              "(integer division), not round()"
    candidates = [
        ((size(H, ph, s, math.ceil), size(W, pw, s, math.ceil)),
         "the output size is rounded up: H_out = 1 + (H - pool_height) // stride takes the floor "
         "(the last incomplete window is dropped), not the ceiling"),
        ((size(H, ph, s, round), size(W, pw, s, round)), rounded),
        ((round(1 + (H - ph) / s), round(1 + (W - pw) / s)), rounded),
        ((size(H, ph, s, half_up), size(W, pw, s, half_up)), rounded),
        ((Ho - 1, Wo - 1), "the + 1 is missing: H_out = 1 + (H - pool_height) // stride (the "
                           "first window counts too)"),
        ((H // s, W // s), "the pool size is missing from the output size: H_out = 1 + (H - "
                           "pool_height) // stride, not H // stride"),
        ((size(H, ph, 1), size(W, pw, 1)), f"the stride is ignored (stride={s}): H_out = 1 + "
                                           "(H - pool_height) // stride"),
        ((size(H, ph, ph), size(W, pw, pw)), f"the pool size is used as the stride (stride={s}): "
                                             "H_out = 1 + (H - pool_height) // stride"),
        ((H // ph, W // pw), f"H_out = H // pool_height assumes stride = pool size (stride={s} "
                             "here): H_out = 1 + (H - pool_height) // stride"),
        ((Ho, size(W, ph, s)), f"W_out was computed with pool_height={ph} instead of "
                               f"pool_width={pw}: the pool is not square"),
        ((size(H, pw, s), Wo), f"H_out was computed with pool_width={pw} instead of "
                               f"pool_height={ph}: the pool is not square"),
        ((size(H, pw, s), size(W, ph, s)), "pool_height and pool_width are swapped: rows go with "
                                           "pool_height, columns with pool_width"),
        ((Wo, Ho), "H_out and W_out are swapped: out is (N, C, H_out, W_out)"),
        ((size(W, ph, s), size(H, pw, s)), "H and W are swapped: x is (N, C, H, W), height first"),
    ]
    matches = list(dict.fromkeys(hint for shape, hint in candidates
                                 if tuple(got[2:]) == shape and shape != (Ho, Wo)))
    if len(matches) == 1:
        return " Hint: " + matches[0]
    if matches:
        return " Hint: one of these (they give the same shape here): " + "; or ".join(matches)
    return (f" Hint: H_out = 1 + (H - pool_height) // stride = {Ho} and "
            f"W_out = 1 + (W - pool_width) // stride = {Wo}")


# -- the feature the failures share ----------------------------------------------------------------
FEATURES = (
    ("overlapping windows (stride < pool)", lambda c: c.overlaps,
     {"out": "windows overlap when stride < pool_height or pool_width: each output reads its own "
             "full window",
      "dx": "windows overlap here, so one element can be the maximum of several windows: ADD "
            "their gradients (dx[...] += ...), never assign (=)"}),
    ("a stride different from the pool size", lambda c: (c.s, c.s) != (c.ph, c.pw),
     {"out": "window (i, j) starts at (i*stride, j*stride), whatever the pool size",
      "dx": "in the backward pass too, window (i, j) starts at (i*stride, j*stride)"}),
    ("gaps between windows (stride > pool)", lambda c: c.gaps,
     {"out": "with stride > pool some rows/columns lie between windows and are never read",
      "dx": "elements between windows (stride > pool) are never read: their gradient is zero"}),
    ("a non-square pool (pool_height != pool_width)", lambda c: c.ph != c.pw,
     {k: "the window is (pool_height, pool_width): rows with pool_height, columns with pool_width"
      for k in ("out", "dx")}),
    ("a non-square input (H != W)", lambda c: c.H != c.W,
     {k: "x is (N, C, H, W): use H for the rows and W for the columns" for k in ("out", "dx")}),
    ("N > 1", lambda c: c.N > 1,
     {"out": "every sample of the batch is pooled on its own",
      "dx": "every sample n gets its own dx[n]"}),
    ("C > 1", lambda c: c.C > 1,
     {"out": "every channel is pooled on its own (the maximum over rows and columns only)",
      "dx": "every channel c gets its own gradient"}),
    ("an output size that needs the floor", lambda c: c.floors,
     {"out": "H_out = 1 + (H - pool_height) // stride: rows/columns after the last full window "
             "are never read",
      "dx": "rows/columns after the last full window are never read: their gradient is zero"}),
)


class Wrong(Fail):
    """A :class:`Fail` that knows which output (``out`` or ``dx``) was wrong and whether its
    message already names the mistake (then :func:`judge` adds the pattern, not a second hint)."""

    def __init__(self, message: str, what: str, diagnosed: bool = False):
        super().__init__(message)
        self.what = what
        self.diagnosed = diagnosed


def judge(cases: list, check, what: str, patterns: bool = True) -> None:
    """Run ``check(case)`` on every case (``case[0]`` is its :class:`Config`); fail with the first
    failure, how many configurations failed and, when the failing ones share a feature of
    :data:`FEATURES` that some passing configuration lacks, that feature (the most precise one;
    ties go to the earlier entry) with its hint unless the failure was already diagnosed.
    ``patterns`` False leaves the feature out (some configurations were not fully judged)."""
    failures, passed = [], []
    for case in cases:
        try:
            check(case)
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
    for name, pred, hints in FEATURES if patterns else ():
        lacking = [c for c in passed if not pred(c)]
        if lacking and all(pred(c) for c in failed):
            precision = len(failed) / (len(failed) + len(passed) - len(lacking))
            if best is None or precision > best[0]:
                best = (precision, name, hints.get(what, ""))
    if best is None:
        raise Fail(msg + ".")
    msg += f"; every wrong one has {best[1]}, and the configurations without it are right."
    if not getattr(exc, "diagnosed", False) and best[2]:
        msg += f"\n  Hint: {best[2]}"
    raise Fail(msg)
