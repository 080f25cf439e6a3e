"""ex05 Xavier: Glorot's uniform and normal initialisations, judged as distributions.

Oracle: the definition (Glorot & Bengio, AISTATS 2010, eq. 16; ``torch.nn.init.xavier_uniform_``
and ``xavier_normal_``): ``W ~ U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``, and
``W ~ N(0, sigma^2)`` with ``sigma = gain * sqrt(2 / (fan_in + fan_out))``; the shape is
``(fan_in, fan_out)``. The draws are random, so every judgement is a statistical test from
:mod:`grader.checks.statistics` on n = 30000 weights (fan_in = 300, fan_out = 100: fan_in and
fan_out differ enough that He's 2/fan_in, 2/fan_out and Glorot's 2/(fan_in + fan_out) are far
apart). Each check spends a false-failure budget of at most 1e-6 (Bonferroni over its tests):

- uniform bounds: every |W| <= a (deterministic), and the largest and smallest draws reach
  within the exact order-statistic threshold of +a and -a;
- moments: Hoeffding bounds (uniform), exact normal / chi-square bounds (normal);
- shape: Kolmogorov-Smirnov distance to the exact distribution, rejected on the DKW-Massart bound;
- gain: the bound (uniform) and the variance (normal) scale as gain and gain^2.

When a test fails, the message names the usual mistake whose numbers match: He's or LeCun's
variance, the uniform's bound used as the normal's sigma (or the reverse), the variance passed as
the standard deviation, the gain ignored or squared, the normal drawn where the uniform was due.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex05_xavier.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex05_xavier.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex05", slug="xavier", title="Xavier (Glorot) initialisation", backend="numpy",
    oracle_modules=("scipy.stats",),
    functions=(Function(UNI, ("fan_in", "fan_out", "rng", "gain")),
               Function(NORM, ("fan_in", "fan_out", "rng", "gain"))),
    forbidden_imports=("torch", "scipy", "jax"),
    checks=(
        signature_check(probe, 1),
        Check("shape", "value", 1, check_shape, (UNI, NORM),
              "W has shape (fan_in, fan_out) on non-square sizes"),
        Check("uniform_bounds", "statistic", 1, check_uniform_bounds, (UNI,),
              "every |W| <= a and the extremes reach close to -a and +a (false-failure "
              "probability <= 1e-6)"),
        Check("uniform_moments", "statistic", 1, check_uniform_moments, (UNI,),
              "mean 0 and variance a^2/3 = 2/(fan_in+fan_out) within Hoeffding bounds"),
        Check("uniform_distribution", "statistic", 1, check_uniform_distribution, (UNI,),
              "Kolmogorov-Smirnov fit to U(-a, a)"),
        Check("normal_moments", "statistic", 1, check_normal_moments, (NORM,),
              "mean 0 and variance 2/(fan_in+fan_out) within exact normal / chi-square bounds"),
        Check("normal_distribution", "statistic", 1, check_normal_distribution, (NORM,),
              "Kolmogorov-Smirnov fit to N(0, sigma^2)"),
        Check("gain", "statistic", 1, check_gain, (UNI, NORM),
              "gain scales the bound and the standard deviation (gain 5/3 and 0.5)"),
        Check("rng_reproducible", "property", 1, check_rng_reproducible, (UNI, NORM),
              "same rng seed, same W; other seed or an advanced rng, other W"),
        Check("global_rng_untouched", "property", 0.5, check_global_rng_untouched, (UNI, NORM),
              "the global np.random and random generators are not used"),
        *performance_checks(PLAN),
        forbidden_check(0.5),
    ),
    teaching=r"""
Glorot and Bengio keep the variance of activations and gradients roughly constant across layers by
choosing $\mathrm{Var}(W) = 2 / (n_\text{in} + n_\text{out})$. A uniform $U(-a, a)$ has variance
$a^2/3$, hence
$$a = \text{gain}\cdot\sqrt{\frac{6}{n_\text{in} + n_\text{out}}}, \qquad
\sigma = \text{gain}\cdot\sqrt{\frac{2}{n_\text{in} + n_\text{out}}}$$
for `xavier_uniform` and `xavier_normal`. `W` has shape `(fan_in, fan_out)` (a layer computes
`x @ W`). Draw only from the `rng` argument (`rng.uniform`, `rng.normal`, which takes the standard
deviation), never from the global `np.random`.
""",
)
