"""The ex12 oracle against the field's libraries (sklearn, scipy), where installed, and its
stability on the worst cases the stability check sends."""
import warnings

import numpy as np
import pytest

from grader.checks.gradients import numerical_gradient, probe_coords
from grader.exercises.ex12_logistic.checks import WORST
from grader.exercises.ex12_logistic.oracles import oracle_loss, oracle_train, sigmoid


def _data(seed, n=40, d=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), (rng.random(n) < 0.5).astype(float), rng.normal(size=d), 0.3


@pytest.mark.parametrize("seed", range(5))
def test_loss_matches_sklearn_log_loss(seed):
    metrics = pytest.importorskip("sklearn.metrics")
    special = pytest.importorskip("scipy.special")
    X, y, w, b = _data(seed)
    p = special.expit(X @ w + b)
    want = metrics.log_loss(y, p, labels=[0, 1]) + 0.5 * 0.2 * w @ w
    loss, dw, db = oracle_loss(w, b, X, y, 0.2)
    assert loss == pytest.approx(want, rel=1e-10)
    np.testing.assert_allclose(dw, X.T @ (p - y) / len(y) + 0.2 * w, rtol=1e-12)
    assert db == pytest.approx(np.mean(p - y), rel=1e-12)


def test_sigmoid_matches_scipy_expit_at_extremes():
    special = pytest.importorskip("scipy.special")
    z = np.array([-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4])
    np.testing.assert_allclose(sigmoid(z), special.expit(z), rtol=1e-14, atol=0)


def test_worst_cases_exact_and_warning_free():
    special = pytest.importorskip("scipy.special")
    for z, y in WORST:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss, _, _ = oracle_loss(np.zeros(1), z, np.zeros((1, 1)), np.array([y]))
        # -log sigma(z) for y = 1, -log(1 - sigma(z)) = -log sigma(-z) for y = 0
        want = -special.log_expit(z if y == 1 else -z)
        assert loss == pytest.approx(want, rel=1e-12)


def test_gradients_match_central_differences():
    X, y, w, b = _data(7)
    _, dw, db = oracle_loss(w, b, X, y, 0.7)
    ev = lambda pts: [oracle_loss(p["w"], float(p["b"][0]), X, y, 0.7)[0] for p in pts]
    rng = np.random.default_rng(0)
    num, _ = numerical_gradient(ev, {"w": w, "b": np.array([b])}, "w", None, probe_coords(w.shape, rng, 9))
    np.testing.assert_allclose(num, dw, rtol=1e-6, atol=1e-9)
    numb, _ = numerical_gradient(ev, {"w": w, "b": np.array([b])}, "b", None, [(0,)])
    assert numb[0] == pytest.approx(db, rel=1e-6)


def test_training_decreases_loss_from_log2_and_approaches_sklearn():
    linear = pytest.importorskip("sklearn.linear_model")
    X, y, _, _ = _data(3, n=200, d=3)
    reg = 0.1
    w, b, losses = oracle_train(X, y, 1.0, 3000, reg)
    assert losses[0] == pytest.approx(np.log(2.0))
    assert all(a >= c - 1e-15 for a, c in zip(losses, losses[1:]))
    # sklearn's C is 1/(N*reg) for a mean loss with 0.5*reg*||w||^2; bias unpenalised
    model = linear.LogisticRegression(C=1.0 / (len(y) * reg), tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(w, model.coef_[0], rtol=1e-4, atol=1e-6)
    assert b == pytest.approx(model.intercept_[0], rel=1e-4, abs=1e-6)


def test_every_named_mistake_differs_from_the_oracle():
    """A hint names a mistake only when the student's values equal the mistake's: each mistake
    must differ from the oracle on the inputs of loss_values (reg > 0), or it could fire on a
    correct answer."""
    from grader.exercises.ex12_logistic.checks import _MISTAKES
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(7, 3)), (rng.random(7) < 0.5).astype(float)
    w, b = rng.normal(size=3), 0.4
    exp = oracle_loss(w, b, X, y, 0.3)
    for kw, hint in _MISTAKES:
        got = oracle_loss(w, b, X, y, 0.3, **kw)
        assert not (np.isclose(got[0], exp[0]) and np.allclose(got[1], exp[1])
                    and np.isclose(got[2], exp[2])), hint
    for kw in ({"after": True}, {"update_b": False}):
        assert not np.allclose(oracle_train(X, y, 0.5, 10, 0.1, **kw)[2],
                               oracle_train(X, y, 0.5, 10, 0.1)[2]), kw
    assert not np.allclose(oracle_train(X, y, -0.5, 10, 0.1)[2], oracle_train(X, y, 0.5, 10, 0.1)[2])


def test_named_mistakes_are_told_apart():
    """No two named mistakes (or combinations) give the same values on loss_values' inputs, so
    the hint that matches first is the only one that matches."""
    from grader.exercises.ex12_logistic.checks import _MISTAKES
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(7, 3)), (rng.random(7) < 0.5).astype(float)
    w, b = rng.normal(size=3), 0.4
    vals = [oracle_loss(w, b, X, y, 0.3, **kw) for kw, _ in _MISTAKES]
    for i, (a, (_, ha)) in enumerate(zip(vals, _MISTAKES)):
        for c, (_, hc) in zip(vals[i + 1:], _MISTAKES[i + 1:]):
            assert not (np.isclose(a[0], c[0]) and np.allclose(a[1], c[1])
                        and np.isclose(a[2], c[2])), (ha, hc)


def test_clip_and_count_hints_fire_only_on_their_pattern():
    from grader.exercises.ex12_logistic.checks import _clip_hint, _count_hint
    assert "-log(1e-15)" in _clip_hint(-np.log(1e-15), 1e4, 1)
    assert "-log(1e-8)" in _clip_hint(-np.log(1e-8), 1e4, 1)
    assert _clip_hint(-np.log(1e-8), 1e4, 8) == ""          # several examples: no single cap
    assert _clip_hint(np.log(2.0), 1e4, 1) == ""            # not a power of ten
    assert _clip_hint(-np.log(1e-8), 10.0, 1) == ""         # above the exact value
    assert "i % 100 == 0" in _count_hint(np.array([np.log(2.0)]), 30)
    assert "i % 100 == 0" in _count_hint(np.log(2.0) * np.ones(3), 250)
    assert _count_hint(np.array([0.5]), 30) == ""           # first loss not at w = 0
    assert _count_hint(np.log(2.0) * np.ones(2), 30) == ""  # not one per 100 iterations
    assert _count_hint(np.array([]), 0) == ""
