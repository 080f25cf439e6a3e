"""Checks of ex05 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import math

import numpy as np

from grader.checks import statistics as stats
from grader.checks.common import forbidden_check, signature_check
from grader.checks.compare import describe_shape, expect_array
from grader.runner.codec import Rng
from grader.spec import Check, Exercise, Fail, Function

UNI, NORM = "xavier_uniform", "xavier_normal"
#: The fans of the statistical checks: n = 30000 weights.
FAN_IN, FAN_OUT = 300, 100
#: Gains of the gain check: tanh's recommended 5/3 and a shrinking 0.5.
GAINS = (5.0 / 3.0, 0.5)


def bound(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """The uniform's half-width ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot eq. 16)."""
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """The normal's standard deviation ``sigma = gain * sqrt(2 / (fan_in + fan_out))``."""
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def _seed(ctx) -> int:
    return int(ctx.rng.integers(1, 2**31))


def _weights(value, fn: str, fan_in: int, fan_out: int, on: str = "", *,
             lenient: bool = True) -> np.ndarray:
    """The student's W, checked to be a float64 array of shape (fan_in, fan_out), finite.

    With ``lenient`` a W of the transposed shape (fan_out, fan_in) is accepted (transposed):
    the statistical checks judge the distribution, and the ``shape`` check alone the layout.
    """
    call = on or f"{fn}({fan_in}, {fan_out}, rng)"
    if isinstance(value, np.ndarray) and value.shape == (fan_out, fan_in) and fan_in != fan_out:
        if lenient:
            return expect_array(value, fn=fn, what=f"W ({call})", shape=(fan_out, fan_in)).T
        raise Fail(f"{call} returned W of shape {describe_shape(value)}, expected (fan_in, "
                   f"fan_out) = ({fan_in}, {fan_out}): fan_in and fan_out are swapped. W has one "
                   "row per input unit, so that a layer computes x @ W")
    return expect_array(value, fn=fn, what=f"W ({call})", shape=(fan_in, fan_out))


def _draw_many(ctx, fn: str, specs, *, lenient: bool = True) -> list[np.ndarray]:
    """``specs``: (fan_in, fan_out, seed, gain or None); one round trip for all."""
    calls = []
    for fan_in, fan_out, seed, gain in specs:
        kwargs = {} if gain is None else {"gain": gain}
        calls.append(((fan_in, fan_out, Rng(seed)), kwargs))
    outs = ctx.map(fn, calls)
    return [_weights(v, fn, fi, fo, f"{fn}({fi}, {fo}, rng" + ("" if g is None else f", gain={g:.4g}")
                     + ")", lenient=lenient)
            for v, (fi, fo, _, g) in zip(outs, specs)]


def _variance_culprit(ratio: float, fn: str, fan_in: int, fan_out: int) -> str:
    """Name the formula whose variance is ``ratio`` times Glorot's, or ""."""
    v = 2.0 / (fan_in + fan_out)
    cands = {
        "He's variance 2/fan_in (Kaiming initialisation, for ReLU layers), not Glorot's "
        "2/(fan_in + fan_out)": (2.0 / fan_in) / v,
        "a variance of 2/fan_out instead of 2/(fan_in + fan_out)": (2.0 / fan_out) / v,
        "LeCun's variance 1/fan_in instead of 2/(fan_in + fan_out)": (1.0 / fan_in) / v,
        "a variance of 1/(fan_in + fan_out): the factor 2 (normal) or 6 (uniform bound) is "
        "missing or halved": 0.5,
    }
    if fn == NORM:
        cands["the uniform's bound a = sqrt(6/(fan_in + fan_out)) used as the normal's sigma "
              "(sigma = sqrt(2/(fan_in + fan_out)))"] = 3.0
        cands["the variance passed as the standard deviation: rng.normal(loc, scale) takes sigma "
              "= sqrt(2/(fan_in + fan_out)), not sigma**2 (the square root is missing)"] = v
    else:
        cands["the normal's sigma = sqrt(2/(fan_in + fan_out)) used as the uniform's bound "
              "(a = sqrt(6/(fan_in + fan_out)))"] = 1.0 / 3.0
        cands["6/(fan_in + fan_out) used as the bound: the square root is missing"] = \
            (6.0 / (fan_in + fan_out)) ** 2 / 3.0 / v
    if ratio == 0.0:
        return "all weights are zero: draw them from rng"
    name = stats.ratio_name(ratio, cands, rel=0.08)
    return f"this looks like {name}" if name else ""


# -- checks ----------------------------------------------------------------------------------
def probe(ctx) -> None:
    for fn in (UNI, NORM):
        _weights(ctx.call(fn, 4, 4, Rng(_seed(ctx))), fn, 4, 4, lenient=False)


def check_shape(ctx) -> None:
    """(fan_in, fan_out) on non-square sizes, including a single row or column."""
    sizes = [(3, 7), (7, 3), (64, 10), (1, 5), (10, 1)]
    for fn in (UNI, NORM):
        _draw_many(ctx, fn, [(fi, fo, _seed(ctx), None) for fi, fo in sizes], lenient=False)


def _looks_normal(w: np.ndarray, alpha: float) -> bool:
    sd = float(np.std(w))
    return sd > 0 and stats.ks_fit(w, "norm", (float(np.mean(w)), sd), alpha).passed


def _looks_uniform(w: np.ndarray, alpha: float) -> bool:
    lo, hi = float(np.min(w)), float(np.max(w))
    return hi > lo and stats.ks_fit(w, "uniform", (lo, hi - lo), alpha).passed


def _bounds(w: np.ndarray, a: float, alpha: float, call: str, culprit) -> None:
    """|W| <= a, and the extremes reach the exact order-statistic thresholds of +-a
    (``alpha / 2`` each), else Fail naming ``culprit(ratio of max|W| to a)``."""
    n = w.size
    top = float(np.max(np.abs(w)))
    t = stats.uniform_max_threshold(n, -a, a, alpha / 2)
    if top > a * (1 + 1e-12) or np.max(w) < t or np.min(w) > -t:
        if float(np.min(w)) >= 0.0 and top > 0:
            hint = ("all values are >= 0: U(-a, a) is symmetric around 0 (rng.uniform(-a, a, "
                    "size=...), not rng.uniform(0, a) or rng.random() * a)")
        elif top > a and _looks_normal(w, 1e-3):
            hint = ("values beyond the bound, and they look normally distributed: a uniform "
                    "never leaves [-a, a]; draw with rng.uniform(-a, a, size=(fan_in, fan_out))")
        else:
            hint = culprit(top / a)
        where = (f"the largest |W| is {top:.6g} > a" if top > a * (1 + 1e-12) else
                 f"the draws span only [{np.min(w):.6g}, {np.max(w):.6g}]")
        raise Fail(f"{call}: every weight must lie in [-a, a] with a = gain * sqrt(6 / (fan_in + "
                   f"fan_out)) = {a:.6g}, and {n} draws of U(-a, a) come within {a - t:.2g} of "
                   f"both ends; {where}.\n  Hint: {hint or 'a = gain * sqrt(6 / (fan_in + fan_out))'}"
                   f"\n  " + stats.budget_note(stats.ALPHA))


def check_uniform_bounds(ctx) -> None:
    """All |W| <= a and the extremes come close to +-a (exact order statistics)."""
    w = _draw_many(ctx, UNI, [(FAN_IN, FAN_OUT, _seed(ctx), None)])[0]
    a = bound(FAN_IN, FAN_OUT)
    _bounds(w, a, stats.ALPHA, f"{UNI}({FAN_IN}, {FAN_OUT}, rng)",
            lambda r: _variance_culprit(r * r, UNI, FAN_IN, FAN_OUT))


def check_uniform_moments(ctx) -> None:
    """mean(W) near 0 and mean(W^2) near a^2/3 (Hoeffding bounds, alpha/2 each)."""
    w = _draw_many(ctx, UNI, [(FAN_IN, FAN_OUT, _seed(ctx), None)])[0]
    a = bound(FAN_IN, FAN_OUT)
    n = w.size
    alpha = stats.share(stats.ALPHA, 2)
    call = f"{UNI}({FAN_IN}, {FAN_OUT}, rng)"
    mean, m2 = float(np.mean(w)), float(np.mean(w * w))
    h1 = stats.hoeffding_halfwidth(n, 2 * a, alpha)
    h2 = stats.hoeffding_halfwidth(n, a * a, alpha)
    var = a * a / 3.0
    if abs(m2 - var) > h2:
        hint = _variance_culprit(m2 / var, UNI, FAN_IN, FAN_OUT) or \
            "Var(U(-a, a)) = a^2 / 3 = 2 / (fan_in + fan_out)"
        raise Fail(f"{call}: the mean of W^2 is {m2:.5g}, expected Var = a^2/3 = 2/(fan_in + "
                   f"fan_out) = {var:.5g} (accepted {var - h2:.5g}..{var + h2:.5g}, ratio "
                   f"{m2 / var:.3g}).\n  Hint: {hint}\n  " + stats.budget_note(stats.ALPHA))
    if abs(mean) > h1:
        raise Fail(f"{call}: the mean of W is {mean:.4g}, expected 0 (accepted within +-{h1:.3g})."
                   "\n  Hint: U(-a, a) is centred on 0: rng.uniform(-a, a, size=...)\n  "
                   + stats.budget_note(stats.ALPHA))


def check_uniform_distribution(ctx) -> None:
    """Kolmogorov-Smirnov goodness of fit to U(-a, a) with the exact a."""
    w = _draw_many(ctx, UNI, [(FAN_IN, FAN_OUT, _seed(ctx), None)])[0]
    a = bound(FAN_IN, FAN_OUT)
    verdict = stats.ks_fit(w, "uniform", (-a, 2 * a), stats.ALPHA)
    if not verdict.passed:
        if _looks_normal(w, 1e-3):
            hint = ("your weights look normally distributed: xavier_uniform draws from the "
                    "uniform U(-a, a) (rng.uniform), xavier_normal from the normal")
        elif _looks_uniform(w, 1e-3):
            hint = (f"the shape is uniform but over [{np.min(w):.4g}, {np.max(w):.4g}] instead of "
                    f"[-{a:.4g}, {a:.4g}]: check the bound a = gain * sqrt(6 / (fan_in + fan_out))")
        else:
            hint = "draw every weight independently from rng.uniform(-a, a, size=(fan_in, fan_out))"
        raise Fail(f"{UNI}({FAN_IN}, {FAN_OUT}, rng) does not follow U(-a, a) with a = "
                   f"{a:.5g}: {verdict.detail}.\n  Hint: {hint}\n  " + stats.budget_note(stats.ALPHA))


def _normal_variance(w: np.ndarray, var: float, alpha: float) -> tuple[bool, float, float, float]:
    lo, hi = stats.normal_variance_range(w.size, var, alpha)
    m2 = float(np.mean(w * w))
    return lo <= m2 <= hi, m2, lo, hi


def check_normal_moments(ctx) -> None:
    """mean(W) within the exact normal bound of 0, mean(W^2) within the chi-square bounds of
    sigma^2 (alpha/2 each)."""
    w = _draw_many(ctx, NORM, [(FAN_IN, FAN_OUT, _seed(ctx), None)])[0]
    sigma = std(FAN_IN, FAN_OUT)
    alpha = stats.share(stats.ALPHA, 2)
    call = f"{NORM}({FAN_IN}, {FAN_OUT}, rng)"
    ok, m2, lo, hi = _normal_variance(w, sigma ** 2, alpha)
    if not ok:
        hint = _variance_culprit(m2 / sigma ** 2, NORM, FAN_IN, FAN_OUT) or \
            "sigma = gain * sqrt(2 / (fan_in + fan_out)); rng.normal takes sigma, not sigma**2"
        raise Fail(f"{call}: the mean of W^2 is {m2:.5g}, expected sigma^2 = 2/(fan_in + fan_out) "
                   f"= {sigma ** 2:.5g} (accepted {lo:.5g}..{hi:.5g}, ratio {m2 / sigma ** 2:.3g})."
                   f"\n  Hint: {hint}\n  " + stats.budget_note(stats.ALPHA))
    h = stats.normal_mean_halfwidth(w.size, sigma, alpha)
    mean = float(np.mean(w))
    if abs(mean) > h:
        raise Fail(f"{call}: the mean of W is {mean:.4g}, expected 0 (accepted within +-{h:.3g})."
                   "\n  Hint: N(0, sigma^2) is centred on 0: rng.normal(0.0, sigma, size=...)\n  "
                   + stats.budget_note(stats.ALPHA))


def check_normal_distribution(ctx) -> None:
    """Kolmogorov-Smirnov goodness of fit to N(0, sigma^2) with the exact sigma."""
    w = _draw_many(ctx, NORM, [(FAN_IN, FAN_OUT, _seed(ctx), None)])[0]
    sigma = std(FAN_IN, FAN_OUT)
    verdict = stats.ks_fit(w, "norm", (0.0, sigma), stats.ALPHA)
    if not verdict.passed:
        if _looks_uniform(w, 1e-3):
            hint = ("your weights look uniformly distributed: xavier_normal draws from the normal "
                    "N(0, sigma^2) (rng.normal), xavier_uniform from the uniform")
        elif _looks_normal(w, 1e-3):
            hint = (f"the shape is normal but with standard deviation {np.std(w):.4g} instead of "
                    f"sigma = {sigma:.4g}: check sigma = gain * sqrt(2 / (fan_in + fan_out))")
        else:
            hint = "draw every weight independently from rng.normal(0.0, sigma, size=(fan_in, fan_out))"
        raise Fail(f"{NORM}({FAN_IN}, {FAN_OUT}, rng) does not follow N(0, sigma^2) with sigma = "
                   f"{sigma:.5g}: {verdict.detail}.\n  Hint: {hint}\n  " + stats.budget_note(stats.ALPHA))


def _gain_culprit(ratio: float, gain: float, what: str) -> str:
    """``ratio`` is observed/expected of the bound (``what="bound"``) or of sigma."""
    name = stats.ratio_name(ratio, {"ignored": 1.0 / gain, "squared": gain,
                                    "sqrt": 1.0 / math.sqrt(gain)}, rel=0.08)
    return {"ignored": "the gain is ignored: multiply the " + what + " by gain",
            "squared": "the gain is applied twice (gain**2): multiply the " + what + " by gain once",
            "sqrt": ("the gain is applied to the variance (inside the square root): multiply the "
                     + what + " by gain, so the variance scales by gain**2")}.get(name or "", "")


def check_gain(ctx) -> None:
    """gain in (5/3, 0.5): the uniform's bound is gain * a (exact order-statistic thresholds on
    both sides) and the normal's variance gain^2 * sigma^2 (chi-square); 6 tests, alpha/6 each."""
    alpha = stats.share(stats.ALPHA, 3 * len(GAINS))
    ws = _draw_many(ctx, UNI, [(FAN_IN, FAN_OUT, _seed(ctx), g) for g in GAINS])
    ns = _draw_many(ctx, NORM, [(FAN_IN, FAN_OUT, _seed(ctx), g) for g in GAINS])
    for g, w, v in zip(GAINS, ws, ns):
        a = bound(FAN_IN, FAN_OUT, g)
        call = f"{UNI}({FAN_IN}, {FAN_OUT}, rng, gain={g:.4g})"
        _bounds(w, a, 2 * alpha, call,
                lambda r, g=g: _gain_culprit(r, g, "bound a") or
                _variance_culprit(r * r, UNI, FAN_IN, FAN_OUT))
        sigma = std(FAN_IN, FAN_OUT, g)
        ok, m2, lo, hi = _normal_variance(v, sigma ** 2, alpha)
        if not ok:
            r = math.sqrt(m2) / sigma
            hint = _gain_culprit(r, g, "standard deviation sigma") or \
                _variance_culprit(r * r, NORM, FAN_IN, FAN_OUT) or \
                "sigma = gain * sqrt(2 / (fan_in + fan_out))"
            raise Fail(f"{NORM}({FAN_IN}, {FAN_OUT}, rng, gain={g:.4g}): the mean of W^2 is "
                       f"{m2:.5g}, expected (gain * sigma)^2 = {sigma ** 2:.5g} (accepted "
                       f"{lo:.5g}..{hi:.5g}).\n  Hint: {hint}\n  " + stats.budget_note(stats.ALPHA))


def check_rng_reproducible(ctx) -> None:
    """Randomness only from ``rng``: the same seed gives the same W, another seed another W, two
    calls sharing one generator different W (it advances)."""
    fi, fo = 20, 30
    for fn in (UNI, NORM):
        s = _seed(ctx)
        handle = ctx.rng_handle(_seed(ctx))
        calls = [((fi, fo, Rng(s)), {}), ((fi, fo, Rng(s)), {}), ((fi, fo, Rng(s + 1)), {}),
                 ((fi, fo, handle), {}), ((fi, fo, handle), {})]
        a, b, c, d, e = (_weights(v, fn, fi, fo) for v in ctx.map(fn, calls))
        if not np.array_equal(a, b):
            raise Fail(f"{fn}: two calls with rng = np.random.default_rng({s}) (the same seed) "
                       "gave different weights: your randomness does not come only from rng.\n  "
                       "Hint: draw with rng.uniform / rng.normal; never np.random.uniform / "
                       "np.random.randn (the global generator) or np.random.default_rng() "
                       "without a seed")
        if np.array_equal(a, c):
            raise Fail(f"{fn}: generators with different seeds ({s} and {s + 1}) gave the same "
                       "weights: W does not depend on rng.\n  Hint: draw from the rng argument, "
                       "not from a generator you create with a fixed seed"
                       + (" (your weights are all zero)" if not np.any(a) else ""))
        if np.array_equal(d, e):
            raise Fail(f"{fn}: two calls sharing one generator returned the same weights: each "
                       "call must draw new numbers from rng, which advances as it is used.\n  "
                       "Hint: do not copy or re-seed rng, and do not cache W between calls")


def check_global_rng_untouched(ctx) -> None:
    """Neither function draws from or re-seeds the global generators (``np.random``, ``random``)."""
    probe_seed = _seed(ctx)
    for fn in (UNI, NORM):
        ctx.map(fn, [((8, 5, Rng(_seed(ctx))), {})], global_rng_seed=probe_seed)
    for fn, used in zip((UNI, NORM), ctx.global_rng_changed):
        if used:
            names = " and ".join("np.random" if u == "numpy.random" else f"the `{u}` module"
                                 for u in used)
            raise Fail(f"{fn} drew from (or re-seeded) the global generator of {names}. Use only "
                       "the rng argument (rng.uniform / rng.normal): np.random.uniform, "
                       "np.random.seed and friends change global state other code relies on, and "
                       "make your initialisation irreproducible")
