"""ex12 logistic regression: the stable L2-regularised loss, its gradients, batch gradient descent.

Oracle: :mod:`grader.exercises.ex12_logistic.oracles` (np.logaddexp form, Bishop 2006 §4.3.2).
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex12_logistic.checks import *  # noqa: F401,F403 - the checks
from grader.exercises.ex12_logistic.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex12", slug="logistic", title="Logistic regression", backend="numpy",
    functions=(Function("logistic_loss", ("w", "b", "X", "y", "reg"), returns=3),
               Function("train_logistic", ("X", "y", "learning_rate", "num_iters", "reg"), returns=3)),
    forbidden_imports=("torch", "scipy", "jax", "sklearn"),
    checks=(
        signature_check(probe, 1),
        Check("loss_values", "value", 3, check_values, (LOSS,),
              "loss, dw, db match the oracle on random data, with and without reg"),
        Check("default_reg", "value", 0.5, check_default_reg, (LOSS,), "reg defaults to 0"),
        Check("gradient_numeric", "gradient", 2, check_gradient_numeric, (LOSS,),
              "dw and db agree with central differences of the loss"),
        Check("stability", "property", 2, check_stability, (LOSS,),
              "finite, exact and warning-free for |X·w + b| up to 1e4"),
        Check("train_trajectory", "value", 2.5, check_train, (TRAIN,),
              "train_logistic's losses (before each update), w and b match the oracle's"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, (LOSS, TRAIN),
              "w, X, y are not changed in place"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
With $z = Xw + b$ and $p = \sigma(z)$, the L2-regularised logistic loss is
$$L = \frac1N\sum_n \big[\log(1 + e^{z_n}) - y_n z_n\big] + \tfrac12\,\mathrm{reg}\,\|w\|^2,\qquad
\partial w = \tfrac1N X^\top(p - y) + \mathrm{reg}\,w,\quad \partial b = \tfrac1N\sum_n (p_n - y_n).$$
Write $\log(1+e^z)$ as `np.logaddexp(0, z)`: it is exact and finite for $|z|$ up to $10^4$.
`train_logistic` runs batch gradient descent from $w = 0$, $b = 0$ and records the loss before
each update.
""",
)
