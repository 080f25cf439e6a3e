"""Statistical judgements with a stated false-failure budget (randomised exercises: ex04, ex05).

A check on random output can fail a correct submission by bad luck. Every test here is built so
that, for a correct implementation, the probability of rejecting is **at most** ``alpha``, and the
exercises spend a budget of :data:`ALPHA` = 1e-6 per check: a check that runs ``k`` tests gives
each ``alpha = ALPHA / k`` (Bonferroni: the union of ``k`` events of probability ``<= ALPHA / k``
has probability ``<= ALPHA``). With the grader's fixed per-check seeds this means at most one
correct submission in a million is failed by a given check, for any ``--seed``.

The bounds are exact or rigorous, never asymptotic approximations of the tail:

- counts of Bernoulli outcomes: the exact binomial quantiles (``scipy.stats.binom``);
- independence of two binary masks: Fisher's exact test on the 2x2 table
  (``scipy.stats.fisher_exact``, conditional, hence conservative);
- goodness of fit: the one-sample Kolmogorov-Smirnov statistic (``scipy.stats.kstest``), rejected
  only when the Dvoretzky-Kiefer-Wolfowitz-Massart bound ``P(D_n >= d) <= 2 exp(-2 n d^2)`` is
  below ``alpha`` (valid for every n; Massart, Ann. Probab. 18 (1990) 1269-1283);
- variance of normal samples with known mean 0: ``sum(W^2) / sigma^2 ~ chi2(n)``
  (``scipy.stats.chi2`` quantiles); mean of normal samples: ``norm`` quantiles;
- means of bounded samples (e.g. uniform): Hoeffding's inequality
  ``P(|mean - mu| >= t) <= 2 exp(-2 n t^2 / width^2)`` (Hoeffding, JASA 58 (1963) 13-30);
- the largest of ``n`` draws of U(lo, hi): ``P(max <= t) = ((t - lo) / (hi - lo))^n`` exactly.

``scipy.stats`` is imported on first use (it costs about 0.6 s), so exercises that never run a
statistical test do not pay for it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: False-failure budget of one statistical check: the probability that the check fails a
#: correct submission is at most this, whatever the seed.
ALPHA = 1e-6


def _stats():
    import scipy.stats
    return scipy.stats


def share(alpha: float, k: int) -> float:
    """The level of each of ``k`` tests that together spend ``alpha`` (Bonferroni: ``alpha / k``).

    Raises:
        ValueError: ``k < 1`` or ``alpha`` not in (0, 1).
    """
    if k < 1 or not 0.0 < alpha < 1.0:
        raise ValueError(f"need k >= 1 and 0 < alpha < 1, got k={k}, alpha={alpha}")
    return alpha / k


def budget_note(alpha: float = ALPHA) -> str:
    """The sentence every statistical failure message ends with."""
    return (f"(a correct implementation fails this check with probability at most {alpha:g}; "
            "rerun with another --seed if you doubt it)")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one test.

    Attributes:
        passed: True when the data are consistent with the hypothesis at the test's level.
        statistic: the test statistic (count, D, chi-square sum...), float.
        pvalue: the p-value, or a rigorous upper bound on it (see each function), float in [0, 1].
        detail: one line in the student's terms ("4021 of 20000 kept, accepted 3804..4198").
    """

    passed: bool
    statistic: float
    pvalue: float
    detail: str


# --- counts ---------------------------------------------------------------------------------
def binomial_range(n: int, prob: float, alpha: float) -> tuple[int, int]:
    """The acceptance range ``[lo, hi]`` of a Binomial(n, prob) count at level ``alpha``.

    ``P(K < lo) <= alpha/2`` and ``P(K > hi) <= alpha/2`` exactly (binomial quantiles), so a
    correct count falls outside with probability at most ``alpha``.

    Args:
        n: number of trials (>= 1). prob: success probability in [0, 1]. alpha: level in (0, 1).

    Returns:
        (lo, hi), ints with ``0 <= lo <= hi <= n``.
    """
    st = _stats()
    lo = int(st.binom.ppf(alpha / 2, n, prob))
    hi = int(st.binom.isf(alpha / 2, n, prob))
    return max(lo, 0), min(hi, n)


def binomial_count(k: int, n: int, prob: float, alpha: float, *, what: str = "successes") -> Verdict:
    """Is ``k`` successes in ``n`` trials consistent with success probability ``prob``?

    Decided by :func:`binomial_range` (exact); the reported p-value is the exact two-sided
    ``scipy.stats.binomtest`` p-value.

    Returns:
        :class:`Verdict` whose ``detail`` reads "k of n <what> (fraction f), expected about
        prob; accepted lo..hi".
    """
    lo, hi = binomial_range(n, prob, alpha)
    pvalue = float(_stats().binomtest(int(k), int(n), float(prob)).pvalue)
    detail = (f"{k} of {n} {what} (fraction {k / n:.4f}), expected about {prob:.4g}; "
              f"accepted range {lo}..{hi}")
    return Verdict(lo <= k <= hi, float(k), pvalue, detail)


# --- independence ---------------------------------------------------------------------------
def independence_2x2(a: np.ndarray, b: np.ndarray, alpha: float) -> Verdict:
    """Are two paired binary samples independent? Fisher's exact test on their 2x2 table.

    Args:
        a, b: boolean arrays of the same size; pair i is ``(a[i], b[i])``. Pairs must be
            independent of each other under the hypothesis (use disjoint pairs).
        alpha: level.

    Returns:
        :class:`Verdict`; ``statistic`` is the fraction of pairs that agree, ``pvalue`` Fisher's
        two-sided exact p-value (conditional on the margins, so the test is conservative).
        A table with an empty margin (one sample constant) carries no evidence and passes.
    """
    a = np.asarray(a, dtype=bool).ravel()
    b = np.asarray(b, dtype=bool).ravel()
    table = [[int(np.sum(a & b)), int(np.sum(a & ~b))], [int(np.sum(~a & b)), int(np.sum(~a & ~b))]]
    agree = float(np.mean(a == b)) if a.size else 1.0
    pvalue = float(_stats().fisher_exact(table).pvalue)
    detail = (f"{a.size} pairs, {agree:.1%} agree (table kept/kept {table[0][0]}, kept/dropped "
              f"{table[0][1]}, dropped/kept {table[1][0]}, dropped/dropped {table[1][1]}); Fisher "
              f"exact p = {pvalue:.3g}")
    return Verdict(pvalue >= alpha, agree, pvalue, detail)


# --- distributions --------------------------------------------------------------------------
def dkw_bound(n: int, d: float) -> float:
    """Massart's bound on the probability that the KS statistic of ``n`` draws reaches ``d``:
    ``min(1, 2 exp(-2 n d^2))``."""
    return min(1.0, 2.0 * math.exp(-2.0 * n * d * d))


def ks_fit(sample: np.ndarray, dist: str, args: tuple, alpha: float) -> Verdict:
    """One-sample Kolmogorov-Smirnov goodness of fit against a fully specified distribution.

    Args:
        sample: the draws (any shape, flattened), float.
        dist: a ``scipy.stats`` continuous distribution name ("uniform", "norm").
        args: its parameters, exactly (``("uniform", (lo, hi - lo))``, ``("norm", (0, sigma))``).
        alpha: level.

    Returns:
        :class:`Verdict` with ``statistic`` D and ``pvalue`` scipy's p-value; it fails only when
        the DKW-Massart bound :func:`dkw_bound` (a rigorous upper bound of the p-value) is below
        ``alpha``.
    """
    x = np.asarray(sample, dtype=np.float64).ravel()
    res = _stats().kstest(x, dist, args=tuple(float(v) for v in args))
    d = float(res.statistic)
    bound = dkw_bound(x.size, d)
    detail = (f"Kolmogorov-Smirnov distance D = {d:.4f} over {x.size} values "
              f"(scipy p = {float(res.pvalue):.3g})")
    return Verdict(bound >= alpha, d, float(res.pvalue), detail)


def ks_distance(sample: np.ndarray, dist: str, args: tuple) -> float:
    """The KS statistic of ``sample`` against ``dist(*args)`` (for diagnosis, no decision)."""
    x = np.asarray(sample, dtype=np.float64).ravel()
    return float(_stats().kstest(x, dist, args=tuple(float(v) for v in args)).statistic)


# --- moments --------------------------------------------------------------------------------
def normal_mean_halfwidth(n: int, sigma: float, alpha: float) -> float:
    """Half-width ``h`` with ``P(|mean of n N(0, sigma^2) draws| > h) = alpha`` exactly."""
    return float(_stats().norm.isf(alpha / 2) * sigma / math.sqrt(n))


def normal_variance_range(n: int, var: float, alpha: float) -> tuple[float, float]:
    """Acceptance range of ``mean(W^2)`` for ``n`` N(0, var) draws (mean known to be 0).

    ``n * mean(W^2) / var ~ chi2(n)``, so the range is ``var * chi2.ppf(alpha/2, n) / n`` to
    ``var * chi2.isf(alpha/2, n) / n``; a correct sample falls outside with probability alpha.
    """
    st = _stats()
    return float(var * st.chi2.ppf(alpha / 2, n) / n), float(var * st.chi2.isf(alpha / 2, n) / n)


def hoeffding_halfwidth(n: int, width: float, alpha: float) -> float:
    """Half-width ``t`` with ``P(|mean - mu| >= t) <= alpha`` for ``n`` independent draws that
    each lie in an interval of length ``width`` (Hoeffding's inequality, distribution-free):
    ``t = width * sqrt(ln(2 / alpha) / (2 n))``."""
    return float(width * math.sqrt(math.log(2.0 / alpha) / (2.0 * n)))


def uniform_max_threshold(n: int, lo: float, hi: float, alpha: float) -> float:
    """The value ``t`` such that the largest of ``n`` U(lo, hi) draws is below ``t`` with
    probability exactly ``alpha``: ``t = lo + (hi - lo) * alpha ** (1 / n)``. By symmetry the
    smallest draw is above ``lo + hi - t`` with the same probability."""
    return float(lo + (hi - lo) * alpha ** (1.0 / n))


def ratio_name(ratio: float, candidates: dict[str, float], rel: float = 0.1) -> str | None:
    """The name of the candidate ratio closest to ``ratio`` within relative distance ``rel``
    (for messages such as "your variance is 4x the expected one: He's 2/fan_in"), or None."""
    best, best_err = None, rel
    for name, value in candidates.items():
        if value > 0 and ratio > 0:
            err = abs(math.log(ratio / value))
            if err < best_err:
                best, best_err = name, err
    return best
