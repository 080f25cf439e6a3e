"""Checks of ex04 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks import statistics as stats
from grader.checks.common import Findings, assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, expect_array, expect_tuple
from grader.engine import StudentRaised
from grader.runner.codec import Rng
from grader.spec import Check, Exercise, Fail, Function

FWD, BWD = "dropout_forward", "dropout_backward"
#: Drop probabilities of the kept-fraction check (0.5 alone cannot tell keep from drop).
KEEP_PS = (0.1, 0.3, 0.5, 0.8)


def _x(rng: np.random.Generator, shape) -> np.ndarray:
    """Inputs with no zeros (|x| in [0.5, 2], random signs), so a dropped unit is ``out == 0``."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)


def _seed(ctx) -> int:
    return int(ctx.rng.integers(1, 2**31))


def _forward(value, shape, on: str):
    """(out, cache) from a forward's return value; out checked for shape, dtype, finiteness."""
    out, cache = expect_tuple(value, 2, fn=FWD, names="(out, cache)")
    try:
        return expect_array(out, fn=FWD, what=f"out ({on})", shape=shape), cache
    except Fail as exc:
        if "contains" in str(exc):
            raise Fail(str(exc).split(". Hint:")[0] + ". Hint: a division by zero? The scale "
                       "is 1 / (1 - p), which is 1 when p = 0; never divide by p") from None
        raise


def _kept(out: np.ndarray) -> np.ndarray:
    return out != 0


# -- checks ----------------------------------------------------------------------------------
def probe(ctx) -> None:
    x = _x(ctx.rng, (2, 3))
    value = ctx.map(FWD, [((x, 0.5, True, Rng(_seed(ctx))), {})], keep=(1,))[0]
    out, cache = _forward(value, x.shape, "x of shape (2, 3)")
    expect_array(ctx.call(BWD, np.ones_like(x), cache), fn=BWD, what="dx", shape=x.shape)


def check_test_mode(ctx) -> None:
    """``train=False`` returns x for any p; ``p=0`` in training returns x too."""
    x = _x(ctx.rng, (20, 30))
    cases = [(0.3, False), (0.7, False), (0.0, True)]
    outs = ctx.map(FWD, [((x, p, train, Rng(_seed(ctx))), {}) for p, train in cases])
    for (p, train), value in zip(cases, outs):
        on = f"p = {p}, train = {train}"
        out, _ = _forward(value, x.shape, on)
        if train:
            hint = ("with p = 0 nothing is dropped and the scale 1 / (1 - p) is 1, so out must "
                    "equal x")
            if np.all(out == 0):
                hint = _all_dropped_at_p0(ctx, x)
        else:
            hint = "with train=False inverted dropout is the identity: return x (a copy) as it is"
            if np.allclose(out, x * (1 - p)):
                hint = ("you scale by (1 - p) at test time: that is the old, non-inverted dropout. "
                        "Inverted dropout divides by (1 - p) during training, so the test pass is "
                        "the identity")
            elif np.allclose(out, x / (1 - p)):
                hint = ("you divide by (1 - p) at test time as well: only the training pass "
                        "scales; with train=False return x")
            elif np.any(out == 0):
                hint = ("units are dropped at test time: with train=False nothing is dropped "
                        "(check `if train:`, not the value of p)")
        assert_close(out, x, fn=FWD, what="out", on=on, hint=hint)


def _all_dropped_at_p0(ctx, x) -> str:
    """Why every unit came out 0 with p = 0: one more call at p = 0.25 tells a swapped keep/drop
    probability (about a quarter kept) from an output multiplied by p (about three quarters
    kept, each kept unit p * x or x * p / (1 - p))."""
    p = 0.25
    out, _ = _forward(ctx.call(FWD, x, p, True, Rng(_seed(ctx))), x.shape, f"p = {p}")
    kept = _kept(out)
    frac = float(kept.mean())
    if abs(frac - p) < 0.05:
        return ("with p = 0 every unit was dropped, and with p = 0.25 only about a quarter is "
                f"kept ({frac:.2f}): keep and drop probability are swapped. Keep a unit when "
                "rng.random(x.shape) >= p")
    if abs(frac - (1 - p)) < 0.05 and kept.any():
        ratio = float(np.median(out[kept] / x[kept]))
        if np.isclose(ratio, p) or np.isclose(ratio, p / (1 - p)):
            return ("with p = 0 every output is 0, yet with p = 0.25 the mask keeps about 1 - p "
                    f"of the units: the output is multiplied by p (kept units are {ratio:.4g} * "
                    "x). Divide by the keep probability 1 - p instead")
    return "with p = 0 nothing may be dropped: out must equal x"


def check_keep_fraction(ctx) -> None:
    """For each p in :data:`KEEP_PS`, the number of kept units among n = 20000 is consistent
    with Binomial(n, 1 - p) (exact quantiles, alpha = 1e-6 / 4 per p)."""
    x = _x(ctx.rng, (100, 200))
    n = x.size
    alpha = stats.share(stats.ALPHA, len(KEEP_PS))
    outs = ctx.map(FWD, [((x, p, True, Rng(_seed(ctx))), {}) for p in KEEP_PS])
    for p, value in zip(KEEP_PS, outs):
        out, _ = _forward(value, x.shape, f"p = {p}, train = True")
        k = int(_kept(out).sum())
        verdict = stats.binomial_count(k, n, 1.0 - p, alpha, what="units kept")
        if verdict.passed:
            continue
        lo, hi = stats.binomial_range(n, p, alpha)
        if k == n:
            hint = ("no unit was dropped (every output is non-zero): about p of the units must "
                    "come out 0, e.g. out = x * (rng.random(x.shape) >= p) / (1 - p)")
        elif k == 0:
            hint = "every unit was dropped (every output is 0): keep each with probability 1 - p"
        elif p != 0.5 and lo <= k <= hi:
            hint = ("you keep units with probability p: keep and drop probability are swapped. p "
                    "is the probability of DROPPING a unit, so keep it when "
                    "rng.random(x.shape) >= p (or < 1 - p)")
        else:
            hint = "keep each unit independently with probability 1 - p: mask = rng.random(x.shape) >= p"
        raise Fail(f"{FWD}: with p = {p} (the drop probability) about 1 - p = {1 - p:g} of the "
                   f"units should be kept, but {verdict.detail}.\n  Hint: {hint}\n  "
                   + stats.budget_note(stats.ALPHA))


#: Shapes beyond 2-D that every check of the mask also tries: x may have any shape.
ND_SHAPES = ((6, 5, 4), (3, 4, 5, 6))


def any_shape_note(shape, plain_shape) -> str:
    """The sentence that tells a student whose code works on 2-D x only that x may be N-D."""
    return (f"{FWD} works on x of shape {plain_shape} but not on x of shape {shape}: x may have "
            "any shape (a batch of images is 4-D). Draw the mask with the full shape, "
            "rng.random(x.shape), and avoid x.shape[1] or (N, D) unpacking")


def _scaling(x, p, value) -> None:
    out, _ = _forward(value, x.shape, f"p = {p}, train = True, x of shape {x.shape}")
    kept = _kept(out)
    if not kept.any():
        raise Fail(f"{FWD}: with p = {p} every unit of x (shape {x.shape}) was dropped, so the "
                   "scaling of the kept units cannot be checked; keep each unit with "
                   "probability 1 - p")
    got, xk = out[kept], x[kept]
    ratio = float(np.median(got / xk))
    hint = "kept units are x / (1 - p): out = x * mask / (1 - p)"
    named = stats.ratio_name(ratio, {
        "none": 1.0, "times keep": 1.0 - p, "by p": 1.0 / p, "times p": p,
        "by kept fraction": 1.0 / float(kept.mean())}, rel=1e-9)
    if named == "none":
        hint = ("the kept units are unscaled (out = x * mask): inverted dropout divides the "
                "survivors by the keep probability 1 - p, so that E[out] = x")
    elif named == "times keep":
        hint = "you multiply the kept units by (1 - p); divide by (1 - p) instead"
    elif named == "by p":
        hint = "you divide by p, the drop probability; divide by the keep probability 1 - p"
    elif named == "times p":
        hint = "you multiply by p; divide by the keep probability 1 - p"
    elif named == "by kept fraction":
        hint = ("you divide by the fraction of units actually kept (mask.mean()); inverted "
                "dropout divides by the keep probability 1 - p, a constant")
    assert_close(got, xk / (1.0 - p), fn=FWD, what="the kept units of out",
                 on=f"p = {p}, train = True, x of shape {x.shape}", hint=hint)


def check_inverted_scaling(ctx) -> None:
    """Every kept unit is exactly x / (1 - p) (dropped units are 0 by the definition of kept),
    on 2-D x and on 3-D and 4-D x (the contract: any shape)."""
    x = _x(ctx.rng, (50, 40))
    ps = (0.25, 0.6)
    found = Findings()
    outs = ctx.map(FWD, [((x, p, True, Rng(_seed(ctx))), {}) for p in ps])
    for p, value in zip(ps, outs):
        with found.judge():
            _scaling(x, p, value)
    for shape in ND_SHAPES:
        xn = _x(ctx.rng, shape)
        try:
            value = ctx.call(FWD, xn, 0.4, True, Rng(_seed(ctx)))
        except StudentRaised as exc:
            found.add(any_shape_note(shape, x.shape))
            with found.judge(f"x of shape {shape}"):
                raise exc
            break
        with found.judge():
            try:
                _scaling(xn, 0.4, value)
            except Fail as exc:
                if "has shape" in str(exc):
                    raise Fail(str(exc) + "\n  " + any_shape_note(shape, x.shape)) from None
                raise
    found.done()


def check_mask_independence(ctx) -> None:
    """Masks are independent between neighbouring samples (axis 0), units of a sample (every
    other axis) and consecutive calls sharing one rng: Fisher's exact test on disjoint pairs,
    6 tests at alpha = 1e-6 / 6 each."""
    p = 0.5
    x2, x3 = _x(ctx.rng, (400, 50)), _x(ctx.rng, (40, 10, 50))
    handle = ctx.rng_handle(_seed(ctx))
    outs = ctx.map(FWD, [((x2, p, True, Rng(_seed(ctx))), {}), ((x2, p, True, handle), {}),
                         ((x2, p, True, handle), {})])
    m2 = _kept(_forward(outs[0], x2.shape, "x of shape (400, 50)")[0])
    c1 = _kept(_forward(outs[1], x2.shape, "a first call with a shared rng")[0])
    c2 = _kept(_forward(outs[2], x2.shape, "a second call with the same rng")[0])
    found = Findings()
    m3 = None
    try:          # a 3-D x on its own: a crash there must not hide what the 2-D masks show
        value = ctx.call(FWD, x3, p, True, Rng(_seed(ctx)))
        with found.judge():
            try:
                m3 = _kept(_forward(value, x3.shape, "x of shape (40, 10, 50)")[0])
            except Fail as exc:
                raise Fail(f"{exc}\n  {any_shape_note(x3.shape, x2.shape)}") from None
    except StudentRaised as exc:
        found.add(any_shape_note(x3.shape, x2.shape))
        with found.judge("x of shape (40, 10, 50)"):
            raise exc
    alpha = stats.share(stats.ALPHA, 6)

    def pairs(m, axis):
        m = np.moveaxis(m, axis, 0)
        even = m.shape[0] // 2 * 2
        return m[0:even:2], m[1:even:2]

    tests = [
        (pairs(m2, 0), "x of shape (400, 50)", "samples of the batch (rows i and i+1 along axis 0)",
         "one mask shared across the batch? Draw the mask with the full shape of x, "
         "rng.random(x.shape), not rng.random(x.shape[1:]) broadcast over the samples"),
        (pairs(m2, 1), "x of shape (400, 50)", "units of one sample (along the last axis)",
         "one random number per sample, broadcast over its units? Draw one per element: "
         "rng.random(x.shape)"),
        ((c1, c2), "two calls on x of shape (400, 50) sharing one rng", "consecutive calls",
         "the same mask on every call? Draw a fresh mask from rng on each call: do not keep the "
         "mask in a global variable, and do not create a new generator with a fixed seed"),
    ]
    if m3 is not None:
        tests += [
            (pairs(m3, 0), "x of shape (40, 10, 50)", "samples of the batch (along axis 0)",
             "one mask shared across the batch? Draw the mask with the full shape of x: "
             "rng.random(x.shape)"),
            (pairs(m3, 1), "x of shape (40, 10, 50)", "units of one sample (along axis 1)",
             "a mask drawn for some axes and broadcast over axis 1? Draw one number per "
             "element: rng.random(x.shape)"),
            (pairs(m3, 2), "x of shape (40, 10, 50)", "units of one sample (along axis 2)",
             "a mask drawn for some axes and broadcast over the last one? Draw one number per "
             "element: rng.random(x.shape)"),
        ]
    failed = []
    for (a, b), on, between, hint in tests:
        verdict = stats.independence_2x2(a, b, alpha)
        if not verdict.passed:
            qa, qb = float(np.mean(a)), float(np.mean(b))
            chance = qa * qb + (1 - qa) * (1 - qb)
            failed.append((abs(verdict.statistic - chance), verdict, on, between, hint))
    if failed:
        # Any rejection proves a dependence; a mask shared along one axis also makes the pairs of
        # the other axes come in identical copies, so name the axis whose pairs agree the most.
        _, verdict, on, between, hint = max(failed, key=lambda f: f[0])
        found.messages.insert(0, f"{FWD}: the dropout masks of {between} are not independent "
                                 f"(p = {p}, {on}): {verdict.detail}; independent masks agree on "
                                 f"about half of the pairs.\n  Hint: {hint}\n  "
                                 + stats.budget_note(stats.ALPHA))
    found.done()


def check_rng_reproducible(ctx) -> None:
    """Randomness only from ``rng``: the same seed gives the same output, another seed another
    output, and two calls sharing one generator draw different masks (it advances)."""
    x = _x(ctx.rng, (30, 40))
    p = 0.5
    s = _seed(ctx)
    handle = ctx.rng_handle(_seed(ctx))
    outs = ctx.map(FWD, [((x, p, True, Rng(s)), {}), ((x, p, True, Rng(s)), {}),
                         ((x, p, True, Rng(s + 1)), {}), ((x, p, True, handle), {}),
                         ((x, p, True, handle), {})])
    a, b, c, d, e = (_forward(v, x.shape, "p = 0.5, train = True")[0] for v in outs)
    if not np.array_equal(a, b):
        raise Fail(f"{FWD}: two calls with rng = np.random.default_rng({s}) (the same seed) gave "
                   f"different outputs ({int(np.sum(a != b))} of {a.size} units differ): your "
                   "randomness does not come only from rng.\n  Hint: draw with rng.random(...); "
                   "never use np.random.rand / np.random.binomial (the global generator) or "
                   "np.random.default_rng() without a seed")
    if np.array_equal(a, c):
        raise Fail(f"{FWD}: generators with different seeds ({s} and {s + 1}) gave the same "
                   "output: the mask does not depend on rng.\n  Hint: draw the mask from the rng "
                   "argument, not from a generator you create with a fixed seed, and do not "
                   "cache the mask")
    if np.array_equal(d, e):
        raise Fail(f"{FWD}: two calls sharing one generator returned the same mask: each call "
                   "must draw new numbers from rng, which advances as it is used.\n  Hint: do "
                   "not copy or re-seed rng, and do not cache the mask between calls")


def check_global_rng_untouched(ctx) -> None:
    """Neither pass draws from or re-seeds the global generators (``np.random``, ``random``)."""
    x = _x(ctx.rng, (20, 30))
    probe_seed = _seed(ctx)
    value = ctx.map(FWD, [((x, 0.5, True, Rng(_seed(ctx))), {})], global_rng_seed=probe_seed,
                    keep=(1,))[0]
    _, cache = _forward(value, x.shape, "p = 0.5, train = True")
    ctx.map(BWD, [((np.ones_like(x), cache), {})], global_rng_seed=probe_seed)
    for fn, used in zip((FWD, BWD), ctx.global_rng_changed):
        if used:
            names = " and ".join("np.random" if u == "numpy.random" else f"the `{u}` module"
                                 for u in used)
            raise Fail(f"{fn} drew from (or re-seeded) the global generator of {names}. Use only "
                       "the rng argument (rng.random(x.shape)): np.random.rand, np.random.seed "
                       "and friends change global state other code relies on, and make your "
                       "layer irreproducible")


def _backward_hint(dx, dout, kept, p, train) -> str:
    """The hint whose premise the observed dx proves (each branch tests it), else the formula."""
    if not train:
        if np.allclose(dx, dout / (1 - p)) or np.allclose(dx, dout * (1 - p)):
            return "in test mode the forward is the identity, so dx = dout: do not scale it"
        if np.any(dx == 0):
            return ("dx has zeros in test mode: nothing is dropped at test time, so dx = dout "
                    "(check the mode saved in the cache)")
        return "in test mode the forward is the identity, so dx = dout"
    if np.allclose(dx, dout):
        return "dx ignores the mask: multiply dout by the mask saved in the cache"
    if np.any((dx != 0) != kept):
        return ("dx is non-zero where the forward dropped the unit (or zero where it kept it): "
                "reuse the mask stored in the cache; never draw a new mask in backward")
    if np.allclose(dx, dout * kept):
        return "dx applies the mask but not the 1 / (1 - p) scale of the forward pass"
    if np.allclose(dx, dout * kept * (1 - p)):
        return "you multiply by (1 - p); the forward divides by (1 - p), so must the backward"
    if np.allclose(dx, dout * kept / p):
        return "you divide by p; divide by the keep probability 1 - p"
    if np.allclose(dx, dout * kept * p):
        return "you multiply by p; divide by the keep probability 1 - p"
    return ("the forward multiplies x elementwise by mask / (1 - p), so dx = dout * mask / (1 - p) "
            "with the mask saved in the cache")


def check_backward(ctx) -> None:
    """dx against the specification: in training dx = dout * mask / (1 - p) with the mask the
    forward drew (read off its output: x has no zeros), whatever scale the forward used; in
    test mode dx = dout, whatever the forward returned. So a correct backward never fails
    because of a wrong forward, and an unscaled backward fails even after an unscaled forward."""
    x = _x(ctx.rng, (30, 20))
    cases = [(0.3, True), (0.6, True), (0.4, False)]
    fwd = ctx.map(FWD, [((x, p, train, Rng(_seed(ctx))), {}) for p, train in cases], keep=(1,))
    douts = [ctx.rng.normal(size=x.shape) for _ in cases]
    results = [expect_tuple(v, 2, fn=FWD, names="(out, cache)") for v in fwd]
    dxs = ctx.map(BWD, [((dout, cache), {}) for dout, (_, cache) in zip(douts, results)])
    found = Findings()
    for (p, train), (out, _), dout, value in zip(cases, results, douts, dxs):
        on = f"the cache of dropout_forward(x, p={p}, train={train}), dout of shape {x.shape}"
        with found.judge():
            dx = expect_array(value, fn=BWD, what="dx", shape=x.shape)
            if train:
                out = _forward((out, None), x.shape, f"p = {p}, train = True")[0]
                kept = _kept(out)
                expected = dout * kept / (1.0 - p)
            else:
                kept, expected = np.ones(x.shape, bool), dout
            assert_close(dx, expected, fn=BWD, what="dx", on=on,
                         hint=_backward_hint(dx, dout, kept, p, train))
    found.done()


def check_inputs_untouched(ctx) -> None:
    """x (forward, both modes) and dout (backward) are not changed in place."""
    x = _x(ctx.rng, (10, 12))
    for train in (True, False):
        value, (args, kwargs) = ctx.map(FWD, [((x.copy(), 0.5, train, Rng(_seed(ctx))), {})],
                                        inputs=True, keep=(1,))[0]
        assert_unchanged({"x": x}, args, kwargs, fn=FWD, names=("x", "p", "train", "rng"))
        _, cache = _forward(value, x.shape, f"p = 0.5, train = {train}")
        dout = ctx.rng.normal(size=x.shape)
        _, (args, kwargs) = ctx.call_with_inputs(BWD, dout.copy(), cache)
        assert_unchanged({"dout": dout}, args, kwargs, fn=BWD, names=("dout", "cache"))
