"""Clipping checks of ex13: ``clip_grad_norm`` against ``torch.nn.utils.clip_grad_norm_``."""
from __future__ import annotations

import numpy as np

from grader.checks.common import assert_unchanged
from grader.checks.compare import assert_close, expect_array, unwrap
from grader.exercises.ex13_rnn.configs import CLIP, clip_cases, clip_oracle
from grader.exercises.ex13_rnn.diagnose import clip_variants, consistent_hint, norm_candidates
from grader.runner.codec import Tensor
from grader.spec import Fail

#: Clipped values and norms are compared relatively only: some cases have norms of order 1e-6,
#: where the float64 absolute tolerance would accept anything.
RTOL = 1e-6


def clip_outputs(value, grads: list, dev, on: str) -> tuple[list, float]:
    """(clipped arrays, total_norm as a float) from what clip_grad_norm returned, checking the
    types the contract asks for: a list of len(grads) tensors shaped like grads, and a float (a
    0-d tensor accepted)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise Fail(f"{CLIP} must return a tuple (clipped, total_norm); it returned "
                   f"{type(value).__name__}"
                   + (" (None: a missing return? torch's clip_grad_norm_ works in place, this "
                      "function returns new tensors and the norm)" if value is None else ""))
    clipped, total = value
    if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
        what = f"{len(clipped)} items" if isinstance(clipped, (list, tuple)) else type(clipped).__name__
        raise Fail(f"{CLIP}: clipped must be a list of {len(grads)} tensors, one per gradient, in "
                   f"order; got {what} (on {on})")
    arrays = [expect_array(c, fn=CLIP, what=f"clipped[{i}]", shape=np.shape(g), device=dev)
              for i, (c, g) in enumerate(zip(clipped, grads))]
    if isinstance(total, Tensor):
        a = unwrap(total, fn=CLIP, what="total_norm", device=dev)
        # shape (1,) too: the wire format sends a 0-d array with shape (1,) (codec.encode's
        # np.ascontiguousarray), so the two cannot be told apart here
        if a.size != 1 or a.ndim > 1:
            raise Fail(f"{CLIP}: total_norm is a tensor of shape {a.shape}; return a float "
                       f"(float(total) or total.item()) or a 0-d tensor (on {on})")
        total = float(a.reshape(()))
    elif isinstance(total, (int, float)) and not isinstance(total, bool):
        total = float(total)
    else:
        raise Fail(f"{CLIP}: total_norm must be a float (a 0-d tensor is accepted); got "
                   f"{type(total).__name__} (on {on})")
    return arrays, total


def _run(ctx):
    cases = clip_cases(ctx.rng)
    results = ctx.map(CLIP, [(([g.copy() for g in grads], max_norm), {}) for _, grads, max_norm in cases])
    out = []
    for (on, grads, max_norm), res in zip(cases, results):
        shapes = [tuple(np.shape(g)) for g in grads]
        on = f"{on}: {len(grads)} tensor(s) of shapes {shapes}, max_norm={max_norm:.3g}"
        clipped, total = clip_outputs(res, grads, ctx.tensor_device, on)
        exp_clipped, exp_total = clip_oracle(grads, max_norm)
        out.append((on, grads, max_norm, clipped, total, exp_clipped, exp_total))
    return out


def _same_norm(a, b) -> bool:
    return bool(np.isclose(a, b, rtol=RTOL, atol=0) or a == b)


def _same_lists(a, b) -> bool:
    return all(np.allclose(x, y, rtol=RTOL, atol=0) for x, y in zip(a, b))


def check_clip_norm(ctx) -> None:
    """total_norm against torch.nn.utils.clip_grad_norm_'s return value on seven cases."""
    runs = _run(ctx)
    per_case = [[(None, total), (None, exp_total)] + norm_candidates(grads, max_norm, clipped)
                for _, grads, max_norm, clipped, total, _, exp_total in runs]
    for on, grads, max_norm, clipped, total, _, exp_total in runs:
        if _same_norm(total, exp_total):
            continue
        hint = consistent_hint(per_case, _same_norm) or (
            "total_norm = sqrt(sum over every tensor of (g**2).sum()), before clipping")
        raise Fail(f"{CLIP}: total_norm is wrong on {on}: expected {exp_total:.6g}, got "
                   f"{total:.6g}.\n  Hint: {hint}")


def check_clip_values(ctx) -> None:
    """The clipped tensors against clip_grad_norm_'s on seven cases: one factor for all tensors,
    no change below max_norm, the 1e-6 of the denominator."""
    runs = _run(ctx)
    per_case = [[(None, clipped), (None, exp_clipped)] + clip_variants(grads, max_norm)
                for _, grads, max_norm, clipped, _, exp_clipped, _ in runs]
    for on, grads, max_norm, clipped, _, exp_clipped, _ in runs:
        wrong = [i for i, (c, e) in enumerate(zip(clipped, exp_clipped))
                 if not np.allclose(c, e, rtol=RTOL, atol=0)]
        if not wrong:
            continue
        hint = consistent_hint(per_case, _same_lists)
        i = wrong[0]
        assert_close(clipped[i], exp_clipped[i], fn=CLIP, what=f"clipped[{i}]", on=on, rtol=RTOL,
                     atol=0.0, hint=hint or "every tensor is multiplied by min(1, max_norm / "
                                            "(total_norm + 1e-6))")


def check_clip_untouched(ctx) -> None:
    """The gradients passed in come back unchanged, above max_norm and below it (the contract's
    clipped tensors are new ones, unlike torch's in-place clip_grad_norm_); the return value must
    have the contract's form, so a function that returns nothing earns nothing here."""
    for on, grads, max_norm in clip_cases(ctx.rng)[:2]:
        (value, (a, kw)), = ctx.map(CLIP, [(([g.copy() for g in grads], max_norm), {})], inputs=True)
        clip_outputs(value, grads, ctx.tensor_device, on)     # no point for a function that returns nothing
        after = a[0] if a else kw.get("grads")
        if not isinstance(after, list) or len(after) != len(grads):
            raise Fail(f"{CLIP} changed the list `grads` it was given (on {on}): return a new list")
        for i, (g, got) in enumerate(zip(grads, after)):
            try:
                assert_unchanged({f"grads[{i}]": g}, [got], {}, fn=CLIP, names=(f"grads[{i}]",))
            except Fail as exc:
                raise Fail(f"{exc} (on {on}). {CLIP} returns new tensors: clipped = [g * coef "
                           "for g in grads], not g *= coef or g.mul_(coef)") from None
