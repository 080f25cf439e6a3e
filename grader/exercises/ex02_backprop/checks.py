"""Checks of ex02 (the exercise is declared in ``__init__``; see its docstring).

Every check judges against the specification (the oracles of :mod:`.oracles`), never against
another of the student's functions; a check that finds one mistake still judges the rest of what
it covers (:class:`~grader.checks.common.Findings`).
"""
from __future__ import annotations

import numpy as np

from grader.checks.common import Findings, assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, expect_array, expect_tuple
from grader.checks.gradients import (compare_gradient, numerical_gradient, probe_coords,
                                     reference_values)
from grader.exercises.ex02_backprop.oracles import (PARAMS, _arr, _layer_inputs, _loss, _network,
                                                    _nudged, _scale_hint, _scores, oracle_affine,
                                                    oracle_gradient, oracle_relu,
                                                    oracle_softmax_loss, oracle_two_layer,
                                                    unwrap_shape)
from grader.spec import Check, Exercise, Fail, Function

FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss",
             "two_layer_loss")


# -- checks -------------------------------------------------------------------------------------
def probe(ctx) -> None:
    x, w, b = _layer_inputs(ctx, (2, 3), 4)
    out, cache = expect_tuple(ctx.call("affine_forward", x, w, b), 2, fn="affine_forward",
                              names="(out, cache)")
    _arr(out, "affine_forward", "out", (2, 4))
    grads = expect_tuple(ctx.call("affine_backward", ctx.rng.normal(size=(2, 4)), cache), 3,
                         fn="affine_backward", names="(dx, dw, db)")
    for g, name, shape in zip(grads, ("dx", "dw", "db"), (x.shape, w.shape, b.shape)):
        _arr(g, "affine_backward", name, shape)
    out, cache = expect_tuple(ctx.call("relu_forward", x), 2, fn="relu_forward", names="(out, cache)")
    _arr(out, "relu_forward", "out", x.shape)
    _arr(ctx.call("relu_backward", x, cache), "relu_backward", "dx", x.shape)
    loss, ds = expect_tuple(ctx.call("softmax_loss", w, np.array([0, 1, 2])), 2, fn="softmax_loss",
                            names="(loss, dscores)")
    _loss(loss, "softmax_loss")
    _arr(ds, "softmax_loss", "dscores", w.shape)
    params = {"W1": ctx.rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": ctx.rng.normal(size=(4, 2)),
              "b2": np.zeros(2)}
    loss, grads = expect_tuple(ctx.call("two_layer_loss", x, np.array([0, 1]), params, 0.1), 2,
                               fn="two_layer_loss", names="(loss, grads)")
    _loss(loss, "two_layer_loss")
    _grads_dict(grads, params)


def _grads_dict(grads, params) -> dict:
    if not isinstance(grads, dict):
        raise Fail(f"two_layer_loss returned {type(grads).__name__} as grads; it must be a dict "
                   "with keys W1, b1, W2, b2")
    missing = [k for k in PARAMS if k not in grads]
    if missing:
        raise Fail(f"two_layer_loss: grads lacks {', '.join(missing)} (it has "
                   f"{', '.join(sorted(grads)) or 'nothing'})")
    return {k: _arr(grads[k], "two_layer_loss", f"grads['{k}']", params[k].shape) for k in PARAMS}


AFFINE_SHAPES = [((1, 3), 2), ((4, 2, 3), 5), ((5, 7), 3), ((3, 2, 2, 2), 4)]


def check_affine_forward(ctx) -> None:
    cases = [_layer_inputs(ctx, s, m) for s, m in AFFINE_SHAPES]
    outs = ctx.map("affine_forward", [((x, w, b), {}) for x, w, b in cases])
    for (x, w, b), res in zip(cases, outs):
        out, _ = expect_tuple(res, 2, fn="affine_forward", names="(out, cache)")
        expected = oracle_affine(x, w, b)
        got = _arr(out, "affine_forward", "out", expected.shape)
        hint = "out = x.reshape(N, -1) @ w + b"
        if np.allclose(got, expected - b):
            hint = "the bias b is missing: out = x2 @ w + b"
        assert_close(got, expected, fn="affine_forward", what="out",
                     on=f"x of shape {x.shape}, w {w.shape}", hint=hint)


def check_affine_backward(ctx) -> None:
    """dx, dw and db against numerical gradients of the oracle, each judged on every case (a
    wrong dx does not hide a wrong db)."""
    found = {name: Findings() for name in ("dx", "dw", "db")}
    for x_shape, m in ((4, 2, 3), 5), ((1, 6), 3), ((3, 5), 4):
        x, w, b = _layer_inputs(ctx, x_shape, m)
        dout = ctx.rng.normal(size=(x.shape[0], m))
        _, cache = expect_tuple(ctx.call("affine_forward", x, w, b), 2, fn="affine_forward",
                                names="(out, cache)")
        grads = expect_tuple(ctx.call("affine_backward", dout, cache), 3, fn="affine_backward",
                             names="(dx, dw, db)")
        inputs = {"x": x, "w": w, "b": b}
        on = f"x of shape {x.shape}, w {w.shape}"
        for g, name in zip(grads, ("dx", "dw", "db")):
            if found[name].failed:      # one message per gradient: its first wrong case
                continue
            with found[name].judge(on):
                key = name[1:]
                a = unwrap_shape(g, "affine_backward", name, inputs[key].shape,
                                 reshape_hint=(key == "x"))
                expected = oracle_gradient(oracle_affine, inputs, key, dout)
                hint = _scale_hint(a, expected, x.shape[0], name)
                assert_close(a, expected, fn="affine_backward", what=name, on=on,
                             hint=hint or {"dx": "dx = (dout @ w.T).reshape(x.shape)",
                                           "dw": "dw = x.reshape(N, -1).T @ dout",
                                           "db": "db = dout.sum(axis=0)"}[name])
    merged = Findings()
    for f in found.values():
        merged.merge(f)
    merged.done()


def check_relu_forward(ctx) -> None:
    xs = [ctx.rng.normal(size=s) for s in ((4, 5), (1, 3), (2, 3, 4))]
    for x, res in zip(xs, ctx.map("relu_forward", [((x,), {}) for x in xs])):
        out, _ = expect_tuple(res, 2, fn="relu_forward", names="(out, cache)")
        got = _arr(out, "relu_forward", "out", x.shape)
        assert_close(got, oracle_relu(x), fn="relu_forward", what="out", on=f"x of shape {x.shape}",
                     hint="out = np.maximum(0, x): negative entries become 0, the rest pass unchanged")


def check_relu_backward(ctx) -> None:
    """dx against numerical gradients of the oracle where x is away from the kink, and 0 where x
    is exactly 0 (ReLU's rule there, as torch's: see the solution's docstring)."""
    x = _nudged(ctx, (4, 6))
    x.flat[ctx.rng.choice(x.size, 5, replace=False)] = 0.0
    dout = ctx.rng.normal(size=x.shape)
    _, cache = expect_tuple(ctx.call("relu_forward", x), 2, fn="relu_forward", names="(out, cache)")
    dx = _arr(ctx.call("relu_backward", dout, cache), "relu_backward", "dx", x.shape)
    kink = x == 0
    expected = oracle_gradient(oracle_relu, {"x": np.where(kink, 1.0, x)}, "x", dout)
    expected[kink] = 0.0
    hint = "dx = dout * (x > 0), gated by the forward input x"
    if np.allclose(dx, dout * (dout > 0)):
        hint = "you gated on the sign of dout; the gate is the sign of the forward input x"
    elif np.allclose(dx[~kink], expected[~kink]) and np.allclose(dx[kink], dout[kink]):
        hint = ("at x == 0 exactly ReLU has no slope and the rule is dx = 0 (as in torch): gate "
                "with x > 0, not x >= 0")
    assert_close(dx, expected, fn="relu_backward", what="dx",
                 on="x of shape (4, 6) (|x| >= 0.05, five entries exactly 0)", hint=hint)


def check_softmax_loss(ctx) -> None:
    found = Findings()
    for n, c in ((5, 4), (1, 3), (8, 10)):
        scores, y = _scores(ctx, n, c)
        loss, ds = expect_tuple(ctx.call("softmax_loss", scores, y), 2, fn="softmax_loss",
                                names="(loss, dscores)")
        on = f"scores of shape {scores.shape}"
        with found.judge(on):
            loss = _loss(loss, "softmax_loss")
            expected = oracle_softmax_loss(scores, y)
            if not np.isclose(loss, expected, rtol=1e-6, atol=1e-8):
                hint = _scale_hint(np.array([loss]), np.array([expected]), n, "the loss") or \
                    "loss = -mean(log softmax(scores)[n, y[n]])"
                raise Fail(f"softmax_loss: the loss is wrong on {on}: expected {expected:.8g}, "
                           f"got {loss:.8g}.\n  Hint: {hint}")
        with found.judge(on):
            got = _arr(ds, "softmax_loss", "dscores", scores.shape)
            exp_ds = oracle_gradient(lambda scores: oracle_softmax_loss(scores, y),
                                     {"scores": scores}, "scores")
            hint = _scale_hint(got, exp_ds, n, "dscores") or "dscores = (softmax(scores) - onehot(y)) / N"
            assert_close(got, exp_ds, fn="softmax_loss", what="dscores", on=on, hint=hint)
        if found.failed:
            break
    found.done()


def check_softmax_gradient(ctx) -> None:
    """dscores against central differences of the loss: the student's own where it agrees with
    the oracle's, else the oracle's (a dscores is never judged against a wrong loss)."""
    scores, y = _scores(ctx, 4, 5)
    _, ds = expect_tuple(ctx.call("softmax_loss", scores, y), 2, fn="softmax_loss",
                         names="(loss, dscores)")
    ds = _arr(ds, "softmax_loss", "dscores", scores.shape)
    used = {}

    def evaluate_many(points):
        outs = ctx.map("softmax_loss", [((p["scores"], y), {}) for p in points])
        own = [_loss(expect_tuple(o, 2, fn="softmax_loss", names="(loss, dscores)")[0],
                     "softmax_loss") for o in outs]
        values, used["own"] = reference_values(own, [oracle_softmax_loss(p["scores"], y)
                                                     for p in points])
        return values

    coords = probe_coords(scores.shape, ctx.rng, scores.size)
    num, _ = numerical_gradient(evaluate_many, {"scores": scores}, "scores", None, coords)
    against = ("central differences of your loss" if used["own"] else "central differences of "
               "the correct loss (your loss is wrong too: see softmax_loss)")
    compare_gradient(ds, num, coords, fn="softmax_loss", what="dscores", against=against,
                     on="scores of shape (4, 5)",
                     hint="dscores is the derivative of the loss: (softmax(scores) - onehot(y)) / N")


#: Rows where naive formulas break, on every seed (C = 5): the label's score far below the row
#: maximum (log of an underflowed probability), huge scores (exp overflows without the shift),
#: very negative scores (every exp underflows: 0/0), ties at a large value.
WORST_ROWS = (
    ([1e3, 0.0, 0.0, 0.0, 0.0], 1), ([-800.0, 800.0, 0.0, 3.0, 5.0], 0),
    ([1e4, 1e4 - 1.0, 1e4 - 2.0, 0.0, -1e4], 0), ([-1e4, -1e4 + 2.0, -1e4 + 1.0, -1e4, -1e4], 1),
    ([1e3, 1e3, 1e3, 1e3, 1e3], 4), ([5.0, 1e4, 3.0, 2.0, 1.0], 3),
)


def _stability_hint(warnings: list[str]) -> str:
    """The cause the warnings the call emitted prove, else the general advice."""
    text = " ".join(warnings)
    if "overflow" in text:
        return ("exp overflowed: subtract each row's maximum from the scores before np.exp "
                "(softmax does not change)")
    if "divide by zero" in text and "log" in text:
        return ("log(0): the label's probability underflowed to 0 (its score is far below the "
                "row's maximum); compute log-probabilities as shifted - log(sum(exp(shifted))) "
                "instead of log(p)")
    if "invalid value" in text:
        return ("0/0: every exp of a row underflowed to 0 (very negative scores); subtract each "
                "row's maximum before np.exp")
    return ("subtract each row's maximum before np.exp and compute log-probabilities as "
            "shifted - log(sum(exp(shifted))) rather than log(p)")


def check_softmax_stability(ctx) -> None:
    """Finite, warning-free and exact on :data:`WORST_ROWS` plus random rows of size 1e3-1e4."""
    scores, y = _scores(ctx, 4, 5, scale=1.0)
    rand = scores * 1e3 + np.array([[1e4], [-1e4], [1e3], [0.0]])
    big = np.vstack([rand, np.array([r for r, _ in WORST_ROWS])])
    y = np.concatenate([y, [label for _, label in WORST_ROWS]])
    order = ctx.rng.permutation(big.shape[0])
    big, y = big[order], y[order]
    on = "scores of magnitude 1e3-1e4, with labels far below their row's maximum"
    ctx.warnings.clear()
    loss, ds = expect_tuple(ctx.call("softmax_loss", big, y), 2, fn="softmax_loss",
                            names="(loss, dscores)")
    warned = list(ctx.warnings)
    found = Findings()
    if warned:
        found.add(f"softmax_loss emits '{warned[0]}' on {on}.\n  Hint: {_stability_hint(warned)}")
    value = np.ravel(np.asarray(loss, dtype=float)) if isinstance(loss, (int, float, np.ndarray)) \
        else np.zeros(2)
    non_finite = value.size == 1 and not np.isfinite(value[0])
    if non_finite and not warned:
        found.add(f"softmax_loss returned a loss of {value[0]} on {on}.\n"
                  f"  Hint: {_stability_hint(warned)}")
    elif not non_finite:              # (a non-finite loss with a warning: said above)
        with found.judge():
            loss = _loss(loss, "softmax_loss")
            expected = oracle_softmax_loss(big, y)
            if not np.isclose(loss, expected, rtol=1e-6, atol=1e-8):
                raise Fail(f"softmax_loss: on {on} the loss is {loss:.8g}, expected "
                           f"{expected:.8g}.\n  Hint: {_stability_hint(warned)}")
    with found.judge():
        got = _arr(ds, "softmax_loss", "dscores", big.shape)
        shifted = big - big.max(axis=1, keepdims=True)
        p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        p[np.arange(big.shape[0]), y] -= 1.0
        assert_close(got, p / big.shape[0], fn="softmax_loss", what="dscores", on=on,
                     hint="subtract each row's maximum before exp")
    found.done()


def check_two_layer_loss(ctx) -> None:
    X, y, params = _network(ctx)
    for reg in (0.0, 0.3):
        loss, _ = expect_tuple(ctx.call("two_layer_loss", X, y, params, reg), 2,
                               fn="two_layer_loss", names="(loss, grads)")
        loss = _loss(loss, "two_layer_loss")
        expected = oracle_two_layer(X, y, **params, reg=reg)
        if np.isclose(loss, expected, rtol=1e-6, atol=1e-8):
            continue
        hint = "affine - ReLU - affine - softmax, plus 0.5 * reg * (sum(W1**2) + sum(W2**2))"
        no_reg = oracle_two_layer(X, y, **params, reg=0.0)
        if reg and np.isclose(loss, no_reg):
            hint = "the regularisation term is missing: add 0.5 * reg * (sum(W1**2) + sum(W2**2))"
        elif reg and np.isclose(loss, oracle_two_layer(X, y, **params, reg=2 * reg)):
            hint = "the regularisation term is twice too large: it is 0.5 * reg * (...)"
        raise Fail(f"two_layer_loss: the loss is wrong for reg={reg} (X of shape {X.shape}, "
                   f"H=4, C=3): expected {expected:.8g}, got {loss:.8g}.\n  Hint: {hint}")


def _two_layer_hint(name, got, expected, params, reg, n) -> str:
    if reg and name.startswith("W") and np.allclose(got, expected - reg * params[name],
                                                     rtol=1e-5, atol=1e-7):
        return f"the regularisation gradient is missing: add reg * {name} to d{name}"
    if reg and name.startswith("W") and np.allclose(got, expected + reg * params[name],
                                                     rtol=1e-5, atol=1e-7):
        return f"the regularisation gradient is 2 * reg * {name}; it is reg * {name}"
    if reg and name.startswith("b") and np.allclose(got - reg * params[name], expected,
                                                     rtol=1e-5, atol=1e-7):
        return "biases are not regularised: do not add reg * b to their gradient"
    return _scale_hint(got, expected, n, f"grads['{name}']") or \
        "backpropagate through softmax, the second affine, ReLU and the first affine"


def check_two_layer_gradients(ctx) -> None:
    X, y, params = _network(ctx)
    found = Findings()
    for reg in (0.0, 0.3):
        _, grads = expect_tuple(ctx.call("two_layer_loss", X, y, params, reg), 2,
                                fn="two_layer_loss", names="(loss, grads)")
        grads = _grads_dict(grads, params)
        f = lambda W1, b1, W2, b2: oracle_two_layer(X, y, W1, b1, W2, b2, reg)  # noqa: E731
        for name in PARAMS:
            with found.judge():
                expected = oracle_gradient(f, dict(params), name)
                assert_close(grads[name], expected, fn="two_layer_loss", what=f"grads['{name}']",
                             on=f"reg={reg}, X of shape {X.shape}, H=4, C=3",
                             hint=_two_layer_hint(name, grads[name], expected, params, reg,
                                                  X.shape[0]))
        if found.failed:
            break
    found.done()


def check_inputs_untouched(ctx) -> None:
    """No function changes its array arguments; relu_backward leaves the cache as it was (a
    second backward on the same cache answers as one on a fresh cache: the student's answers
    compared with each other, right or wrong)."""
    found = Findings()
    x, w, b = _layer_inputs(ctx, (3, 2, 2), 3)
    dout = ctx.rng.normal(size=(3, 3))
    with found.judge():
        res, (args, kw) = ctx.call_with_inputs("affine_forward", x, w, b)
        _, cache = expect_tuple(res, 2, fn="affine_forward", names="(out, cache)")
        assert_unchanged({"x": x, "w": w, "b": b}, args, kw, fn="affine_forward",
                         names=("x", "w", "b"))
        _, (args, kw) = ctx.call_with_inputs("affine_backward", dout, cache)
        assert_unchanged({"dout": dout}, args[:1], kw, fn="affine_backward", names=("dout",))
    with found.judge():
        x = _nudged(ctx, (3, 4))
        res, (args, kw) = ctx.call_with_inputs("relu_forward", x)
        _, cache = expect_tuple(res, 2, fn="relu_forward", names="(out, cache)")
        assert_unchanged({"x": x}, args, kw, fn="relu_forward", names=("x",))
        d = ctx.rng.normal(size=x.shape)
        _, (args, kw) = ctx.call_with_inputs("relu_backward", d, cache)
        assert_unchanged({"dout": d}, args[:1], kw, fn="relu_backward", names=("dout",))
        ones = np.ones_like(x)
        again = _arr(ctx.call("relu_backward", ones, cache), "relu_backward", "dx", x.shape)
        _, fresh = expect_tuple(ctx.call("relu_forward", x), 2, fn="relu_forward",
                                names="(out, cache)")
        clean = _arr(ctx.call("relu_backward", ones, fresh), "relu_backward", "dx", x.shape)
        if not np.array_equal(again, clean):
            raise Fail("relu_backward changed the cache from relu_forward in place (a second "
                       "backward on the same cache gives another answer than one on a fresh "
                       "cache). Hint: don't write into x or dout")
    with found.judge():
        scores, y = _scores(ctx, 4, 3)
        _, (args, kw) = ctx.call_with_inputs("softmax_loss", scores, y)
        assert_unchanged({"scores": scores, "y": y}, args, kw, fn="softmax_loss",
                         names=("scores", "y"))
    with found.judge():
        X, y, params = _network(ctx)
        _, (args, kw) = ctx.call_with_inputs("two_layer_loss", X, y, params, 0.1)
        assert_unchanged({"X": X, "y": y}, args, kw, fn="two_layer_loss", names=("X", "y", "params"))
        after = args[2] if len(args) > 2 else {}
        for k in PARAMS:
            if not isinstance(after, dict) or not np.array_equal(np.asarray(after.get(k)), params[k]):
                raise Fail(f"two_layer_loss changed params['{k}'] in place. Hint: compute "
                           "W1 + reg * W1 into a new array; never `W1 += ...`")
    found.done()


__all__ = ["Check", "Exercise", "Function", "FUNCTIONS", "forbidden_check", "signature_check",
           "probe", "check_affine_forward", "check_affine_backward", "check_relu_forward",
           "check_relu_backward", "check_softmax_loss", "check_softmax_gradient",
           "check_softmax_stability", "check_two_layer_loss", "check_two_layer_gradients",
           "check_inputs_untouched", "expect_array"]
