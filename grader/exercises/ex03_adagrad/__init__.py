"""ex03 Adagrad: the per-parameter adaptive update, its defaults and its state in ``config``.

Oracle: a numpy re-statement of ``torch.optim.Adagrad``'s step with ``lr_decay=0``,
``weight_decay=0`` and ``initial_accumulator_value=0`` (torch/optim/adagrad.py, ``_single_tensor_
adagrad``: ``state_sum.addcmul_(grad, grad, value=1)``; ``std = state_sum.sqrt().add_(eps)``;
``param.addcdiv_(grad, std, value=-lr)``). ``autotests/test_ex03_05_oracles.py`` proves it equal
to torch over many steps; it is restated here because a numpy exercise must not pay for
``import torch`` (about 1.7 s).

The Adagrad update does not depend on ``w``: ``next_w - w = -lr * dw / (sqrt(cache) + eps)``. The
checks feed the student's own ``next_w`` and returned ``config`` back into the next call (a real
training loop), and judge each step's *update* ``next_w - w`` against the oracle's, so an error
never compounds and the first wrong step is the one reported. On a mismatch the student's whole
sequence of updates is compared with the sequences of the usual mistakes (epsilon inside the
square root, no square root, a cache that is not accumulated or not carried, ...) to name it.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex03_adagrad.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex03_adagrad.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex03", slug="adagrad", title="The Adagrad update", backend="numpy",
    functions=(Function("adagrad_update", ("w", "dw", "config"), returns=2),),
    forbidden_imports=("torch", "scipy", "jax"),
    checks=(
        signature_check(probe, 1),
        Check("defaults", "value", 1.5, check_defaults, (FN,),
              "config None: learning_rate 1e-2, epsilon 1e-10, cache zeros; cache = dw**2 after one "
              "step"),
        Check("config_honoured", "value", 1, check_config_honoured, (FN,),
              "a partial config keeps its values and gets the missing defaults; a given cache is "
              "continued"),
        Check("many_steps", "value", 2, check_many_steps, (FN,),
              "50 steps match torch.optim.Adagrad's update (default and non-default learning "
              "rates), state carried in config"),
        Check("large_epsilon", "value", 1.5, check_large_epsilon, (FN,),
              "epsilon 1 and 0.1: epsilon added after the square root"),
        Check("cache_state", "value", 1, check_cache_state, (FN,),
              "config['cache'] is the running sum of dw**2 after every step"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, (FN,),
              "w and dw are not changed in place"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
Adagrad keeps, for every parameter, the running sum of its squared gradients and divides the step
by its square root, so each parameter gets its own learning rate:
$$c \leftarrow c + (\partial w)^2, \qquad w \leftarrow w - \eta\,\frac{\partial w}{\sqrt{c} + \epsilon}.$$
`adagrad_update(w, dw, config=None)` returns `(next_w, config)`. `config` holds `learning_rate`
($\eta$, default $10^{-2}$), `epsilon` (default $10^{-10}$, added *after* the square root, as
`torch.optim.Adagrad` does) and `cache` ($c$, default zeros like `w`); missing keys get their
defaults, and the returned config carries the state to the next call. Do not change `w` or `dw`
in place.
""",
)
