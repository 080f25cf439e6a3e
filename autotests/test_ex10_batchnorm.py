"""ex10 batch normalisation: the grader's oracles against torch, the mistakes behind the hints,
and the timing reference.

The submissions in autotests/submissions/ex10/ test the checks end to end; these tests pin the
pieces a verdict or a message comes from: the numpy forward against ``torch.nn.functional.
batch_norm``, the autograd gradients against central differences and against the gradients of
``batch_norm`` itself, each mistake the hints name against the oracle (it must differ, or the
hint could fire on a correct answer), and the runner's timing reference against the oracle.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.exercises.ex10_batchnorm import EXERCISE
from grader.exercises.ex10_batchnorm import oracles as oc
from grader.checks.references import REFERENCES, run


def _inputs(seed, n=9, d=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, d) + rng.uniform(-5, 5, d)
    return x, rng.uniform(0.5, 2, d), rng.uniform(-1, 1, d), rng.normal(size=(n, d)), rng


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_forward_matches_torch_batch_norm(seed, eps):
    x, gamma, beta, _, rng = _inputs(seed)
    rm, rv = rng.normal(size=5), rng.uniform(0.5, 2, 5)
    out, new_rm, new_rv = oc.oracle_forward(x, gamma, beta, "train", eps, 0.8, rm, rv)
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    want = torch.nn.functional.batch_norm(torch.tensor(x), t_rm, t_rv, torch.tensor(gamma),
                                          torch.tensor(beta), training=True, momentum=0.2,
                                          eps=eps)
    np.testing.assert_allclose(out, want.numpy(), rtol=1e-12, atol=1e-12)
    # torch's momentum weighs the new value (0.2 here = 1 - 0.8); its running mean agrees ...
    np.testing.assert_allclose(new_rm, t_rm.numpy(), rtol=1e-12)
    # ... its running variance uses the unbiased variance, the contract the biased one (CS231n)
    n = x.shape[0]
    np.testing.assert_allclose(new_rv, 0.8 * rv + 0.2 * x.var(axis=0), rtol=1e-12)
    np.testing.assert_allclose(t_rv.numpy(), 0.8 * rv + 0.2 * x.var(axis=0) * n / (n - 1),
                               rtol=1e-12)
    test_out, same_rm, same_rv = oc.oracle_forward(x, gamma, beta, "test", eps, 0.8, rm, rv)
    want = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv),
                                          torch.tensor(gamma), torch.tensor(beta),
                                          training=False, eps=eps)
    np.testing.assert_allclose(test_out, want.numpy(), rtol=1e-12, atol=1e-12)
    assert np.array_equal(same_rm, rm) and np.array_equal(same_rv, rv)


@pytest.mark.parametrize("seed", range(3))
def test_autograd_gradients_match_batch_norm_and_central_differences(seed):
    x, gamma, beta, dout, rng = _inputs(seed)
    got = oc.torch_gradients(x, gamma, beta, dout, 1e-3)
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    out = torch.nn.functional.batch_norm(leaves[0], None, None, leaves[1], leaves[2],
                                         training=True, eps=1e-3)
    want = torch.autograd.grad(out, leaves, torch.tensor(dout))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-10, atol=1e-12)
    numeric = oc.numerical_gradients(x, gamma, beta, dout, 1e-3, rng, max_coords=45)
    for g, key in zip(got, ("x", "gamma", "beta")):
        coords, num = numeric[key]
        np.testing.assert_allclose([g[c] for c in coords], num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("n, d, eps", [(8, 5, 1e-5), (3, 4, 0.1), (20, 3, 1e-3), (2, 1, 1e-5)])
def test_complex_step_gradients_equal_autograd(seed, n, d, eps):
    """The complex-step reference the backward checks judge by equals torch autograd to rounding,
    also where a feature is constant or of variance 1e-14 (zero_variance's inputs)."""
    x, gamma, beta, dout, rng = _inputs(seed, n, d)
    if d >= 3:
        x[:, 1] = 2.5
        x[:, 2] = -1.0 + 1e-7 * rng.normal(size=n)
    got = oc.complex_step_gradients(x, gamma, beta, dout, eps)
    for g, w in zip(got, oc.torch_gradients(x, gamma, beta, dout, eps)):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_grading_a_correct_backward_does_not_import_torch(tmp_path):
    """torch (about 1.2 s of the grader's CPU) is imported only to confirm a wrong gradient: the
    solution is graded without it; a wrong backward is failed against torch autograd."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    code = ("import sys; from grader.engine import Options, grade; from grader.exercises import "
            "resolve; r = grade([resolve('ex10')], sys.argv[1], Options(seed=5, perf=False)); "
            "e = r.exercises[0]; b = [c for c in e.checks if c.name == 'backward'][0]; "
            "z = [c for c in e.checks if c.name == 'zero_variance'][0]; "
            "print(e.score, e.max_score, b.status, 'torch' in sys.modules, z.message)")
    good = subprocess.run([sys.executable, "-c", code, str(root / "solutions")], cwd=root,
                          capture_output=True, text=True, check=True).stdout.split()
    assert good[:4] == [good[1], good[1], "pass", "False"], good
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "ex10_batchnorm.py").write_text(
        (root / "autotests" / "submissions" / "ex10" / "no_variance_term.py").read_text())
    bad = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    assert " fail True " in bad and "(against torch autograd)" in bad, bad


def test_every_named_mistake_differs_from_the_oracle():
    x, gamma, beta, dout, rng = _inputs(7)
    rm, rv = rng.normal(size=5), rng.uniform(1, 2, 5)
    exp = oc.oracle_forward(x, gamma, beta, "train", 0.1, 0.7, rm, rv)
    for name, values, _hint in oc.forward_mistakes(x, gamma, beta, 0.1, 0.7, rm, rv):
        differs = [v is not None and (v.shape != e.shape or not np.allclose(v, e, rtol=1e-6))
                   for v, e in zip(values, exp)]
        assert any(differs), name
    grads = oc.torch_gradients(x, gamma, beta, dout, 1e-5)
    by_name = dict(zip(("dx", "dgamma", "dbeta"), grads))
    for name, which, value, _hint in oc.backward_mistakes(x, gamma, beta, dout, 1e-5):
        e = by_name[which]
        assert value.shape != e.shape or not np.allclose(value, e, rtol=1e-6), name


def test_timing_reference_is_a_standardisation_not_the_layer():
    """The timing reference does the work of batch statistics and passes over x with library
    calls (np.mean, np.std, ...), not the contract's layer (no eps, no running averages)."""
    x, gamma, beta, _, rng = _inputs(3)
    got = run(REFERENCES["standardise"](x, gamma, beta, {"mode": "train"}))
    np.testing.assert_allclose(got, (x - x.mean(0)) / x.std(0) * gamma, rtol=1e-12)


def test_exercise_declares_the_contract():
    assert EXERCISE.id == "ex10" and EXERCISE.backend == "numpy"
    assert [(f.name, f.params) for f in EXERCISE.functions] == [
        ("batchnorm_forward", ("x", "gamma", "beta", "bn_param")),
        ("batchnorm_backward", ("dout", "cache"))]
    assert {"torch", "scipy", "jax"} <= set(EXERCISE.forbidden_imports)
