"""ex04 dropout: inverted dropout's forward and backward passes, judged statistically.

Oracle: the definition (Srivastava et al., JMLR 15 (2014); inverted scaling as in
``torch.nn.functional.dropout``): in training each unit is kept independently with probability
``1 - p`` and a kept unit is ``x / (1 - p)``; in test mode the layer is the identity. The mask is
random, so no single output can be compared with an oracle's; instead

- inputs ``x`` have no zeros, so the student's mask is read off the output (``out != 0``);
- the kept fraction is tested against Binomial(n, 1 - p) with exact quantiles, the masks'
  independence (across samples of the batch, across units of a sample, across calls) with
  Fisher's exact test, both from :mod:`grader.checks.statistics`; each statistical check spends a
  false-failure budget of at most 1e-6 (a correct submission fails it with probability at most
  one in a million, for any ``--seed``);
- every kept unit must equal ``x / (1 - p)``, on 2-D and on 3-D and 4-D inputs (x may have any
  shape); the backward pass is judged against the specification, ``dout * mask / (1 - p)`` with
  the mask the forward drew (read off its output) in training and ``dout`` in test mode, never
  against the forward's own scale (a correct backward passes after a wrong forward, an unscaled
  one fails after an unscaled forward);
- the ``cache`` never leaves the student process (``keep=(1,)`` returns it as an opaque
  handle, passed back to ``dropout_backward``), so any cache the student likes works;
- reproducibility is tested by calling the student with generators built in the student process
  (``codec.Rng(seed)`` builds a fresh ``np.random.default_rng(seed)`` per call; ``ctx.rng_handle``
  one generator shared by several calls), and the global generators by the worker's probe
  (``global_rng_seed``), which reports whether ``np.random`` or ``random`` changed during a call.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex04_dropout.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex04_dropout.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex04", slug="dropout", title="Inverted dropout", backend="numpy",
    oracle_modules=("scipy.stats",),
    functions=(Function(FWD, ("x", "p", "train", "rng"), returns=2),
               Function(BWD, ("dout", "cache"))),
    forbidden_imports=("torch", "scipy", "jax"),
    checks=(
        signature_check(probe, 1),
        Check("test_mode", "value", 1, check_test_mode, (FWD,),
              "train=False returns x for any p; p=0 returns x"),
        Check("keep_fraction", "statistic", 1.5, check_keep_fraction, (FWD,),
              "about 1-p of the units are kept, for p = 0.1, 0.3, 0.5, 0.8 (exact binomial "
              "bounds, false-failure probability <= 1e-6)"),
        Check("inverted_scaling", "value", 1, check_inverted_scaling, (FWD,),
              "every kept unit is x / (1 - p), for x of any shape"),
        Check("mask_independence", "statistic", 1.5, check_mask_independence, (FWD,),
              "masks independent across samples, units and calls (Fisher's exact test, "
              "false-failure probability <= 1e-6)"),
        Check("rng_reproducible", "property", 1, check_rng_reproducible, (FWD,),
              "same rng seed, same output; other seed or an advanced rng, another mask"),
        Check("global_rng_untouched", "property", 0.5, check_global_rng_untouched, (FWD, BWD),
              "the global np.random and random generators are not used"),
        Check("backward", "gradient", 1.5, check_backward, (FWD, BWD),
              "dx = dout * mask / (1 - p) with the forward's mask; dx = dout in test mode"),
        Check("inputs_untouched", "property", 0.5, check_inputs_untouched, (FWD, BWD),
              "x and dout are not changed in place"),
        *performance_checks(PLAN),
        forbidden_check(0.5),
    ),
    teaching=r"""
Inverted dropout zeroes each unit of `x` independently with probability $p$ (the *drop*
probability) during training and divides the survivors by the keep probability $1-p$, so that
$\mathbb E[\mathrm{out}] = x$ and the test pass is simply the identity:
$$m_i \sim \mathrm{Bernoulli}(1-p), \qquad \mathrm{out} = \frac{x \odot m}{1-p}
\ (\text{train}), \qquad \mathrm{out} = x\ (\text{test}).$$
Draw the mask only from the `rng` argument (a `np.random.Generator`, e.g. `rng.random(x.shape) >= p`),
never from the global `np.random`. `dropout_backward(dout, cache)` multiplies `dout` by the same
mask and scale, saved in the cache.
""",
)
