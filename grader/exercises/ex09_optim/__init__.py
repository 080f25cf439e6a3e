"""ex09 optimisers: SGD with momentum, RMSProp and Adam, their defaults and their state in config.

Oracle: :mod:`.oracles`, numpy float64 re-statements of ``torch.optim.SGD`` (momentum),
``RMSprop`` (momentum 0, centered False) and ``Adam`` (amsgrad False), proven equal to torch in
``autotests/test_ex09_optim.py``. As in ex03, the checks feed the student's ``next_w`` and
``config`` back into the next call and judge each step's update ``next_w - w`` against the
oracle's, so an error never compounds; on a mismatch the whole sequence is compared with the usual
mistakes' sequences to name the mistake (:mod:`.diagnose`: causes with the same updates are told
apart by the returned config or one call with every key given, or named together). Each run is first tried in one round trip fed the
oracle's weights and config (``checks._fast``): only a submission that returns exactly the
contract's updates and config passes there; any other is judged by the sequential run.
"""
from __future__ import annotations

from grader.checks.common import forbidden_check, signature_check
from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex09_optim.checks import (check_adam_first_step, check_adam_many_steps,
                                                check_config_honoured, check_defaults,
                                                check_inputs_untouched, check_rmsprop_many_steps,
                                                check_sgd_momentum_many_steps, check_state, probe)
from grader.exercises.ex09_optim.plan import FNS, PLAN
from grader.spec import Check, Exercise, Function

EXERCISE = Exercise(
    plan=PLAN, id="ex09", slug="optim", title="Momentum, RMSProp and Adam", backend="numpy",
    functions=tuple(Function(fn, ("w", "dw", "config"), returns=2) for fn in FNS),
    forbidden_imports=("torch", "scipy", "jax"),
    checks=(
        signature_check(probe, 1),
        Check("defaults", "value", 1.5, check_defaults, FNS,
              "config None, for each rule: the contract's defaults, the first update and state"),
        Check("config_honoured", "value", 1, check_config_honoured, FNS,
              "a partial config keeps its values; a given state is continued"),
        Check("sgd_momentum_many_steps", "value", 1.5, check_sgd_momentum_many_steps,
              ("sgd_momentum_update",), "60 steps match torch.optim.SGD(momentum)"),
        Check("rmsprop_many_steps", "value", 1.5, check_rmsprop_many_steps,
              ("rmsprop_update",), "60 steps match torch.optim.RMSprop (large epsilon too)"),
        Check("adam_many_steps", "value", 1.5, check_adam_many_steps, ("adam_update",),
              "60 steps match torch.optim.Adam"),
        Check("adam_first_step", "value", 1, check_adam_first_step, ("adam_update",),
              "bias correction: the first step is -lr*dw/(|dw| + eps)"),
        Check("state", "value", 1, check_state, FNS,
              "after every call config holds velocity; cache; m, v and t as the contract names"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, FNS,
              "w and dw are not changed in place"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
Momentum: $v \leftarrow \mu v - \eta\,\partial w$, $w \leftarrow w + v$ (Polyak 1964; Sutskever et
al. 2013). RMSProp: $c \leftarrow \rho c + (1-\rho)(\partial w)^2$,
$w \leftarrow w - \eta\,\partial w/(\sqrt{c}+\epsilon)$ (Tieleman & Hinton 2012). Adam:
$t \leftarrow t+1$, $m \leftarrow \beta_1 m + (1-\beta_1)\partial w$,
$v \leftarrow \beta_2 v + (1-\beta_2)(\partial w)^2$,
$w \leftarrow w - \eta\,\hat m/(\sqrt{\hat v}+\epsilon)$ with $\hat m = m/(1-\beta_1^t)$,
$\hat v = v/(1-\beta_2^t)$ (Kingma & Ba 2015). Each `update(w, dw, config=None)` returns
`(next_w, config)`; missing keys get their defaults and the state travels in `config`.
""",
)
