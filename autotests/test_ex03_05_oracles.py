"""ex03-ex05: the numpy oracles agree with PyTorch, the statistical tests keep their stated
false-failure budget, and the worker's rng handle and global-generator probe work.

The submissions in autotests/submissions/ex03..ex05/ test the checks end to end; these tests pin
what the verdicts rest on: an oracle that is not torch's, or a bound that is looser or tighter
than it claims, would make every verdict wrong together.
"""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from grader.checks import statistics as stats
from grader.exercises.ex03_adagrad import checks as ex03
from grader.exercises.ex04_dropout import checks as ex04
from grader.exercises.ex04_dropout import EXERCISE as EX04
from grader.exercises.ex05_xavier import checks as ex05


# -- ex03: the numpy oracle is torch.optim.Adagrad ---------------------------------------------
@pytest.mark.parametrize("lr, eps, start", [
    (None, None, 0.0),    # the contract's defaults: lr 1e-2, eps 1e-10
    (0.1, None, 0.0),
    (0.1, 1.0, 0.0),      # a large epsilon: inside vs outside the square root differ
    (0.5, 0.1, 0.0),
    (0.05, 1e-6, 0.3),    # a non-zero starting cache = torch's initial_accumulator_value
])
def test_adagrad_oracle_matches_torch_over_50_steps(lr, eps, start):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    shape = (4, 6)
    grads = ex03._gradients(rng, shape, ex03.STEPS)
    w0 = rng.normal(size=shape)
    lr_ = ex03.DEFAULT_LR if lr is None else lr
    eps_ = ex03.DEFAULT_EPS if eps is None else eps
    updates, caches = ex03.oracle_updates(grads, lr_, eps_, np.full(shape, start))

    param = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = torch.optim.Adagrad([param], lr=lr_, lr_decay=0, weight_decay=0,
                              initial_accumulator_value=start, eps=eps_)
    w = w0.copy()
    for k, dw in enumerate(grads):
        param.grad = torch.tensor(dw, dtype=torch.float64)
        opt.step()
        w = w + updates[k]
        np.testing.assert_allclose(param.detach().numpy(), w, rtol=1e-12, atol=1e-14,
                                   err_msg=f"step {k + 1}")
        np.testing.assert_allclose(opt.state[param]["sum"].numpy(), caches[k], rtol=1e-12, atol=0)


def test_adagrad_mistakes_are_distinguishable_from_the_oracle():
    """Every diagnosed mistake changes the updates on the inputs the checks use (else its hint
    could be named for a correct submission's rounding)."""
    rng = np.random.default_rng(4)
    grads = ex03._gradients(rng, (4, 6), ex03.STEPS)
    for lr, eps, lr_given, eps_given in ((1e-2, 1e-10, False, False), (0.1, 1.0, True, True)):
        good, _ = ex03.oracle_updates(grads, lr, eps)
        for name, kw, _hint in ex03._mistakes(lr, eps, lr_given, eps_given):
            bad, _ = ex03._updates(grads, **kw)
            assert not all(np.allclose(g, b, rtol=1e-5, atol=1e-12, equal_nan=True)
                           for g, b in zip(good, bad)), name


# -- ex04: torch's dropout is the inverted dropout the checks expect -------------------------
def test_torch_dropout_keeps_one_minus_p_and_scales_by_its_inverse():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = ex04._x(np.random.default_rng(5), (100, 200))
    alpha = stats.share(stats.ALPHA, len(ex04.KEEP_PS))
    for p in ex04.KEEP_PS:
        out = torch.nn.functional.dropout(torch.tensor(x), p=p, training=True).numpy()
        kept = out != 0
        assert stats.binomial_count(int(kept.sum()), x.size, 1 - p, alpha).passed
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)
        np.testing.assert_array_equal(
            torch.nn.functional.dropout(torch.tensor(x), p=p, training=False).numpy(), x)


# -- ex05: the bound and sigma are torch.nn.init's ---------------------------------------------
@pytest.mark.parametrize("gain", [1.0, 5.0 / 3.0, 0.5])
def test_xavier_formulas_match_torch_init(gain):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    fi, fo = ex05.FAN_IN, ex05.FAN_OUT
    # torch stores a Linear weight as (out, in); its fans are the same numbers.
    wu = torch.nn.init.xavier_uniform_(torch.empty(fo, fi, dtype=torch.float64), gain=gain).numpy()
    a = ex05.bound(fi, fo, gain)
    assert np.abs(wu).max() <= a * (1 + 1e-12)
    assert np.abs(wu).max() >= stats.uniform_max_threshold(wu.size, 0.0, a, 1e-9)
    wn = torch.nn.init.xavier_normal_(torch.empty(fo, fi, dtype=torch.float64), gain=gain).numpy()
    lo, hi = stats.normal_variance_range(wn.size, ex05.std(fi, fo, gain) ** 2, 1e-9)
    assert lo <= float(np.mean(wn ** 2)) <= hi
    assert stats.ks_fit(wn, "norm", (0.0, ex05.std(fi, fo, gain)), 1e-9).passed
    assert stats.ks_fit(wu, "uniform", (-a, 2 * a), 1e-9).passed


# -- statistics: the stated levels are the real ones ------------------------------------------
@pytest.mark.parametrize("n, prob", [(20000, 0.9), (20000, 0.2), (20000, 0.5), (1000, 0.01)])
def test_binomial_range_has_exact_coverage(n, prob):
    from scipy.stats import binom
    alpha = 2.5e-7
    lo, hi = stats.binomial_range(n, prob, alpha)
    outside = binom.cdf(lo - 1, n, prob) + binom.sf(hi, n, prob)
    assert outside <= alpha
    # and it is not needlessly wide: one step in on either side exceeds alpha/2
    assert binom.cdf(lo, n, prob) > alpha / 2 or lo == 0
    assert binom.sf(hi - 1, n, prob) > alpha / 2


def test_normal_variance_range_is_the_chi_square_quantiles():
    from scipy.stats import chi2
    n, var, alpha = 30000, 0.005, 5e-7
    lo, hi = stats.normal_variance_range(n, var, alpha)
    assert chi2.cdf(lo * n / var, n) == pytest.approx(alpha / 2, rel=1e-6)
    assert chi2.sf(hi * n / var, n) == pytest.approx(alpha / 2, rel=1e-6)


def test_closed_form_bounds():
    n, alpha = 30000, 1e-6
    t = stats.uniform_max_threshold(n, -1.0, 1.0, alpha)
    assert ((t + 1.0) / 2.0) ** n == pytest.approx(alpha, rel=1e-9)
    h = stats.hoeffding_halfwidth(n, 2.0, alpha)
    assert 2 * math.exp(-2 * n * h * h / 4.0) == pytest.approx(alpha, rel=1e-9)
    assert stats.dkw_bound(n, 0.0) == 1.0
    assert stats.share(1e-6, 4) == 2.5e-7
    with pytest.raises(ValueError):
        stats.share(1e-6, 0)


def test_tests_accept_correct_samples_and_reject_wrong_ones():
    """A few hundred correct samples all pass at 1e-6 (a failure here would mean a level far
    worse than stated), and the mistakes the checks exist for are rejected."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        u = rng.uniform(-0.5, 0.5, size=3000)
        assert stats.ks_fit(u, "uniform", (-0.5, 1.0), 1e-6).passed
        a, b = rng.random(2000) < 0.3, rng.random(2000) < 0.3
        assert stats.independence_2x2(a, b, 1e-6).passed
        k = int((rng.random(5000) >= 0.2).sum())
        assert stats.binomial_count(k, 5000, 0.8, 1e-6).passed
    z = rng.normal(0, 0.5 / math.sqrt(3), size=30000)           # same variance as U(-.5, .5)
    assert not stats.ks_fit(z, "uniform", (-0.5, 1.0), 1e-6).passed
    m = rng.random(5000) < 0.5
    assert not stats.independence_2x2(m, m, 1e-6).passed          # one mask used twice
    assert not stats.binomial_count(int((rng.random(20000) < 0.1).sum()), 20000, 0.9, 1e-6).passed


def test_ratio_name():
    assert stats.ratio_name(1.33, {"he": 4 / 3, "three": 3.0}) == "he"
    assert stats.ratio_name(2.0, {"he": 4 / 3, "three": 3.0}) is None


# -- the worker's rng handle and global-generator probe -----------------------------------------
def test_rng_handle_advances_and_global_probe_reports(tmp_path):
    from grader.engine import Context
    from grader.runner.codec import Rng
    from grader.runner.process import StudentProcess
    student = tmp_path / "mod.py"
    student.write_text(
        "import random\nimport numpy as np\n"
        "def draw(rng):\n    return rng.random(4)\n"
        "def global_np(rng):\n    return np.random.rand(2)\n"
        "def global_py(rng):\n    return random.random()\n"
        "def reseed(rng):\n    np.random.seed(0)\n    return 0.0\n")
    proc = StudentProcess(str(student), "numpy")
    proc.start()
    try:
        ctx = Context(EX04, EX04.checks[0], 1, "cpu", proc, "")
        h = ctx.rng_handle(42)
        first, second = ctx.map("draw", [((h,), {}), ((h,), {})])
        expect = np.random.default_rng(42).random(8)
        np.testing.assert_array_equal(np.concatenate([first, second]), expect)
        fresh = ctx.map("draw", [((Rng(42),), {}), ((Rng(42),), {})])
        np.testing.assert_array_equal(fresh[0], fresh[1])
        for fn, used in (("draw", []), ("global_np", ["numpy.random"]),
                         ("global_py", ["random"]), ("reseed", ["numpy.random"])):
            ctx.global_rng_changed.clear()
            ctx.map(fn, [((Rng(1),), {})], global_rng_seed=12345)
            assert ctx.global_rng_changed == [used], fn
    finally:
        proc.close()


# -- speed: numpy exercises never pay for torch, and scipy only when a test runs --------------
def test_exercise_modules_import_neither_torch_nor_scipy():
    code = ("import sys\n"
            "import grader.exercises.ex03_adagrad, grader.exercises.ex04_dropout, "
            "grader.exercises.ex05_xavier\n"
            "bad = [m for m in ('torch', 'scipy') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
