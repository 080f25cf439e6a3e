"""ex02 backprop: affine, ReLU and softmax cross-entropy layers, then a two-layer network.

Oracles (:mod:`.oracles`): the forward formulas, in float64. Reference gradients are central
differences of these oracle forwards (see :mod:`grader.checks.gradients`), so no hand-written
backward pass ships with the grader; the one exception is ReLU's kink, where x == 0 exactly has
dx = 0 (torch's rule, stated in the solution's docstring). The layers are checked one by one before the whole network, so a student
sees which layer is wrong.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex02_backprop.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex02_backprop.plan import PLAN

EXERCISE = Exercise(
    oracle_modules=("scipy.special",),  # the timing reference (expit / log_softmax)
    plan=PLAN, id="ex02", slug="backprop", title="Backpropagation through a two-layer network", backend="numpy",
    functions=(
        Function("affine_forward", ("x", "w", "b"), 2),
        Function("affine_backward", ("dout", "cache"), 3),
        Function("relu_forward", ("x",), 2),
        Function("relu_backward", ("dout", "cache"), 1),
        Function("softmax_loss", ("scores", "y"), 2),
        Function("two_layer_loss", ("X", "y", "params", "reg"), 2),
    ),
    forbidden_imports=("torch", "scipy", "jax"),
    checks=(
        signature_check(probe, 1),
        Check("affine_forward", "value", 2, check_affine_forward, ("affine_forward",),
              "affine_forward on inputs with extra dimensions and N = 1"),
        Check("affine_backward", "gradient", 3, check_affine_backward,
              ("affine_forward", "affine_backward"),
              "dx, dw, db against numerical gradients of the oracle"),
        Check("relu_forward", "value", 1, check_relu_forward, ("relu_forward",), "max(0, x)"),
        Check("relu_backward", "gradient", 1, check_relu_backward, ("relu_forward", "relu_backward"),
              "dx against numerical gradients away from the kink, and 0 at x == 0 exactly"),
        Check("softmax_loss", "value", 2, check_softmax_loss, ("softmax_loss",),
              "loss and dscores against the oracle"),
        Check("softmax_gradient", "gradient", 2, check_softmax_gradient, ("softmax_loss",),
              "dscores against central differences of the loss (yours where it is right)"),
        Check("softmax_stability", "property", 2, check_softmax_stability, ("softmax_loss",),
              "finite, warning-free and accurate for scores of 1e3-1e4, labels far below the maximum"),
        Check("two_layer_loss", "value", 2, check_two_layer_loss, ("two_layer_loss",),
              "loss with and without regularisation"),
        Check("two_layer_gradients", "gradient", 3, check_two_layer_gradients, ("two_layer_loss",),
              "every gradient against numerical gradients of the oracle network"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, FUNCTIONS,
              "no function changes its arrays in place"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
Each layer has a forward pass returning `(out, cache)` and a backward pass taking the upstream
gradient `dout` and the cache.

* affine: $\mathrm{out} = x_2 W + b$ with $x_2$ = `x.reshape(N, -1)`; $dx = dout\,W^\top$ reshaped
  like $x$, $dW = x_2^\top dout$, $db = \sum_n dout_n$.
* ReLU: $\max(0, x)$; $dx = dout \odot [x > 0]$.
* softmax cross-entropy: $L = -\frac1N \sum_n \log p_{n, y_n}$ with
  $p = \mathrm{softmax}(s - \max s)$; $\partial L / \partial s = (p - \mathrm{onehot}(y)) / N$.
* two-layer net: affine - ReLU - affine - softmax, plus $\tfrac12 \lambda (\|W_1\|^2 + \|W_2\|^2)$.
""",
)
