"""ex10 batch normalisation: the training and test forward, its running averages, and the
training backward.

Oracles (:mod:`.oracles`), computed in the grader's process: the contract's forward in numpy
(Ioffe & Szegedy, ICML 2015, Algorithm 1: batch mean, biased batch variance, eps inside the square
root; running averages ``momentum * running + (1 - momentum) * batch``), and for the backward
(no backward formula ships with the grader) three references of that forward: central
differences at probe coordinates, the complex-step derivative of every entry (exact to rounding,
no torch needed), and torch autograd in float64, computed only for a gradient that differs from
the complex-step one, to confirm the failure (torch costs the grader about 1.2 s of CPU to
import, which a correct submission then never pays; it never enters the student's process).

The cache is the student's own (it stays in the student process as a handle), so the backward
can only be fed the cache of the student's forward; the expected gradients are those of the
specification on the same x, gamma, beta, and a failure says when that forward is itself wrong on
the input. ``bn_param`` is state: the student process returns it after each call and the checks
read the running statistics stored in it.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex10_batchnorm.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex10_batchnorm.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex10", slug="batchnorm", title="Batch normalisation", backend="numpy",
    functions=(Function(FWD, FN_PARAMS, returns=2), Function(BWD, ("dout", "cache"), returns=3)),
    forbidden_imports=("torch", "scipy", "jax"),
    checks=(
        signature_check(probe, 1),
        Check("train_forward", "value", 2, check_train_forward, (FWD,),
              "training mode: batch mean, biased variance (/N), eps inside the square root, "
              "running averages with the contract's momentum convention"),
        Check("defaults", "value", 1, check_defaults, (FWD,),
              "only 'mode' given: eps 1e-5, momentum 0.9, running statistics from zeros, "
              "stored in bn_param with shape (D,)"),
        Check("running_averages", "value", 1.5, check_running_averages, (FWD,),
              "five training calls carrying bn_param: running averages follow the oracle"),
        Check("test_mode", "value", 1.5, check_test_mode, (FWD,),
              "test mode uses running_mean / running_var and leaves them unchanged"),
        Check("backward", "gradient", 3, check_backward, (FWD, BWD),
              "dx, dgamma, dbeta against the complex-step derivative (torch autograd confirms a "
              "failure) and central differences; dgamma and "
              "dbeta summed over the batch"),
        Check("zero_variance", "property", 1, check_zero_variance, (FWD, BWD),
              "a constant feature and one of variance 1e-14: finite, correct forward and "
              "backward"),
        Check("inputs_untouched", "property", 0.5, check_inputs_untouched, (FWD, BWD),
              "x, gamma, beta and dout are not changed in place (bn_param is state)"),
        *performance_checks(PLAN),
        forbidden_check(0.5),
    ),
    teaching=r"""
Batch normalisation (Ioffe & Szegedy 2015, Algorithm 1) standardises each feature over the batch
and rescales it: with $\mu = \frac1N\sum_n x_n$ and the *biased* variance
$\sigma^2 = \frac1N\sum_n (x_n-\mu)^2$,
$$\hat x = \frac{x-\mu}{\sqrt{\sigma^2+\epsilon}}, \qquad \mathrm{out} = \gamma\,\hat x + \beta,$$
and the running averages $r \leftarrow m\,r + (1-m)\,\mu$ (and likewise for $\sigma^2$), $m$ the
momentum (default 0.9), $\epsilon$ default $10^{-5}$, stored back into `bn_param`. In test mode
`running_mean` and `running_var` replace $\mu$ and $\sigma^2$ and stay unchanged. The backward
pass (training mode) is, with means over the batch,
$$d\beta = \sum_n dout_n,\quad d\gamma = \sum_n dout_n\,\hat x_n,\quad
dx = \frac{\gamma}{\sqrt{\sigma^2+\epsilon}}\Big(dout - \overline{dout} - \hat x\,
\overline{dout\,\hat x}\Big).$$
""",
)
