"""ex01 sigmoid: the logistic function and its derivative, accurate for any input.

Oracle: a numerically stable sigmoid in float64 computed here (``exp`` of non-positive numbers only).
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex01_sigmoid.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex01_sigmoid.plan import PLAN

EXERCISE = Exercise(
    oracle_modules=("scipy.special",),  # the timing reference (expit / log_softmax)
    plan=PLAN, id="ex01", slug="sigmoid", title="Sigmoid and its derivative", backend="numpy",
    functions=(Function("sigmoid", ("z",)), Function("sigmoid_grad", ("z",))),
    forbidden_imports=("torch", "scipy", "jax"),
    forbidden_calls=("scipy.special.expit",),
    checks=(
        signature_check(probe, 1),
        Check("sigmoid_values", "value", 3, check_sigmoid_values, ("sigmoid",),
              "sigmoid matches the oracle on random inputs of several shapes"),
        Check("sigmoid_grad_values", "value", 2, check_sigmoid_grad_values, ("sigmoid_grad",),
              "sigmoid_grad matches s * (1 - s)"),
        Check("sigmoid_grad_numeric", "gradient", 2, check_sigmoid_grad_numeric,
              ("sigmoid", "sigmoid_grad"), "sigmoid_grad agrees with central differences of sigmoid"),
        Check("stability", "property", 2, check_sigmoid_stability, ("sigmoid", "sigmoid_grad"),
              "finite, accurate and warning-free for |z| up to 1e4"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, ("sigmoid", "sigmoid_grad"),
              "z is not changed in place"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
The logistic sigmoid squashes any real number into (0, 1):
$$\sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,(1 - \sigma(z)).$$
Both functions work elementwise on an array `z` of any shape (float64) and return an array of the
same shape. They must stay finite and accurate for $|z|$ up to $10^4$ without an overflow warning:
for negative $z$ use the equivalent form $e^{z} / (1 + e^{z})$.
""",
)
