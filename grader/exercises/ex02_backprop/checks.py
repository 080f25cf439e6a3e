"""Checks of ex02 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, expect_array, expect_tuple
from grader.checks.gradients import compare_gradient, numerical_gradient, probe_coords
from grader.spec import Check, Exercise, Fail, Function

PARAMS = ("W1", "b1", "W2", "b2")


# -- oracles (forward only) -------------------------------------------------------------------
def oracle_affine(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def oracle_relu(x):
    return np.maximum(0.0, x)


def oracle_softmax_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(scores.shape[0]), y].mean())


def oracle_two_layer(X, y, W1, b1, W2, b2, reg=0.0):
    scores = oracle_affine(oracle_relu(oracle_affine(X, W1, b1)), W2, b2)
    return oracle_softmax_loss(scores, y) + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))


def oracle_gradient(f, inputs: dict, name: str, dout=None) -> np.ndarray:
    """The full gradient of ``sum(dout * f(**inputs))`` w.r.t. ``name`` by central differences
    of an oracle forward (float64, h = 1e-6; error ~1e-9 on the shapes used here)."""
    x = inputs[name]
    coords = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in range(x.size)]
    num, _ = numerical_gradient(lambda pts: [f(**p) for p in pts], inputs, name, dout, coords)
    return num.reshape(x.shape)


# -- helpers ------------------------------------------------------------------------------------
def _loss(value, fn: str) -> float:
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        loss = float(value)
    elif isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        loss = float(value.reshape(()))
    else:
        kind = "None" if value is None else type(value).__name__
        if isinstance(value, np.ndarray):
            kind = f"an array of shape {value.shape}"
        raise Fail(f"{fn} returned {kind} as the loss; it must be a single float. Hint: average "
                   "the per-example losses with .mean()")
    if not np.isfinite(loss):
        raise Fail(f"{fn} returned a loss of {loss}. Hint: exp overflowed or log(0) was taken; "
                   "subtract the row maximum from the scores first")
    return loss


def _scale_hint(got: np.ndarray, expected: np.ndarray, n: int, what: str) -> str:
    """Names the usual factor-of-N mistakes when ``got`` is ``expected`` times a constant."""
    if not np.any(expected):
        return ""
    k = float(np.sum(got * expected) / np.sum(expected * expected))
    if not np.allclose(got, k * expected, rtol=1e-4, atol=1e-7):
        return ""
    if n > 1 and np.isclose(k, 1.0 / n):
        return f"{what} is divided by N = {n}: it must be a sum over the batch, not a mean"
    if n > 1 and np.isclose(k, n):
        return f"{what} is N = {n} times too large: average over the batch (divide by N)"
    if np.isclose(k, -1.0):
        return f"{what} has the wrong sign"
    if np.isclose(k, 2.0) or np.isclose(k, 0.5):
        return f"{what} is off by a factor of {k:g}"
    return ""


def _layer_inputs(ctx, x_shape, m):
    x = ctx.rng.normal(size=x_shape)
    d = int(np.prod(x_shape[1:]))
    return x, ctx.rng.normal(size=(d, m)), ctx.rng.normal(size=(m,))


def _arr(value, fn, what, shape):
    return expect_array(value, fn=fn, what=what, shape=shape)


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


def _affine_backward_case(ctx, x_shape, m):
    x, w, b = _layer_inputs(ctx, x_shape, m)
    dout = ctx.rng.normal(size=(x.shape[0], m))
    res = ctx.call("affine_forward", x, w, b)
    _, cache = expect_tuple(res, 2, fn="affine_forward", names="(out, cache)")
    grads = expect_tuple(ctx.call("affine_backward", dout, cache), 3, fn="affine_backward",
                         names="(dx, dw, db)")
    inputs = {"x": x, "w": w, "b": b}
    on = f"x of shape {x.shape}, w {w.shape}"
    for g, name in zip(grads, ("dx", "dw", "db")):
        key = name[1:]
        shape = inputs[key].shape
        a = unwrap_shape(g, "affine_backward", name, shape, reshape_hint=(key == "x"))
        expected = oracle_gradient(oracle_affine, inputs, key, dout)
        hint = _scale_hint(a, expected, x.shape[0], name)
        assert_close(a, expected, fn="affine_backward", what=name, on=on,
                     hint=hint or {"dx": "dx = (dout @ w.T).reshape(x.shape)",
                                   "dw": "dw = x.reshape(N, -1).T @ dout",
                                   "db": "db = dout.sum(axis=0)"}[name])


def unwrap_shape(value, fn, what, shape, reshape_hint=False):
    if reshape_hint and isinstance(value, np.ndarray) and value.ndim == 2 and len(shape) > 2 \
            and value.size == int(np.prod(shape)):
        raise Fail(f"{fn}: {what} has shape {value.shape}, expected {shape} (the shape of x). "
                   "Hint: reshape dx back to x.shape - x had extra dimensions that the forward "
                   "pass flattened")
    return _arr(value, fn, what, shape)


def check_affine_backward(ctx) -> None:
    for x_shape, m in ((4, 2, 3), 5), ((1, 6), 3), ((3, 5), 4):
        _affine_backward_case(ctx, x_shape, m)


def _nudged(ctx, shape):
    """Random inputs at least 0.05 away from ReLU's kink at 0."""
    return np.sign(ctx.rng.standard_normal(shape)) * (0.05 + np.abs(ctx.rng.standard_normal(shape)))


def check_relu_forward(ctx) -> None:
    xs = [ctx.rng.normal(size=s) for s in ((4, 5), (1, 3), (2, 3, 4))]
    for x, res in zip(xs, ctx.map("relu_forward", [((x,), {}) for x in xs])):
        out, _ = expect_tuple(res, 2, fn="relu_forward", names="(out, cache)")
        got = _arr(out, "relu_forward", "out", x.shape)
        assert_close(got, oracle_relu(x), fn="relu_forward", what="out", on=f"x of shape {x.shape}",
                     hint="out = np.maximum(0, x): negative entries become 0, the rest pass unchanged")


def check_relu_backward(ctx) -> None:
    x = _nudged(ctx, (4, 6))
    dout = ctx.rng.normal(size=x.shape)
    _, cache = expect_tuple(ctx.call("relu_forward", x), 2, fn="relu_forward", names="(out, cache)")
    dx = _arr(ctx.call("relu_backward", dout, cache), "relu_backward", "dx", x.shape)
    expected = oracle_gradient(oracle_relu, {"x": x}, "x", dout)
    hint = "dx = dout * (x > 0), gated by the forward input x"
    if np.allclose(dx, dout * (dout > 0)):
        hint = "you gated on the sign of dout; the gate is the sign of the forward input x"
    elif np.allclose(dx, np.maximum(0, dout)):
        hint = "you applied ReLU to dout; multiply dout by the mask (x > 0) instead"
    assert_close(dx, expected, fn="relu_backward", what="dx", on="x of shape (4, 6) (|x| >= 0.05)",
                 hint=hint)


def _scores(ctx, n, c, scale=3.0):
    return ctx.rng.normal(0.0, scale, size=(n, c)), ctx.rng.integers(0, c, size=n)


def check_softmax_loss(ctx) -> None:
    for n, c in ((5, 4), (1, 3), (8, 10)):
        scores, y = _scores(ctx, n, c)
        loss, ds = expect_tuple(ctx.call("softmax_loss", scores, y), 2, fn="softmax_loss",
                                names="(loss, dscores)")
        loss = _loss(loss, "softmax_loss")
        expected = oracle_softmax_loss(scores, y)
        on = f"scores of shape {scores.shape}"
        if not np.isclose(loss, expected, rtol=1e-6, atol=1e-8):
            hint = _scale_hint(np.array([loss]), np.array([expected]), n, "the loss") or \
                "loss = -mean(log softmax(scores)[n, y[n]])"
            raise Fail(f"softmax_loss: the loss is wrong on {on}: expected {expected:.8g}, got "
                       f"{loss:.8g}.\n  Hint: {hint}")
        got = _arr(ds, "softmax_loss", "dscores", scores.shape)
        exp_ds = oracle_gradient(lambda scores: oracle_softmax_loss(scores, y), {"scores": scores},
                                 "scores")
        hint = _scale_hint(got, exp_ds, n, "dscores") or "dscores = (softmax(scores) - onehot(y)) / N"
        assert_close(got, exp_ds, fn="softmax_loss", what="dscores", on=on, hint=hint)


def check_softmax_gradient(ctx) -> None:
    """dscores against central differences of the student's own loss (consistency)."""
    scores, y = _scores(ctx, 4, 5)
    _, ds = expect_tuple(ctx.call("softmax_loss", scores, y), 2, fn="softmax_loss",
                         names="(loss, dscores)")
    ds = _arr(ds, "softmax_loss", "dscores", scores.shape)

    def evaluate_many(points):
        outs = ctx.map("softmax_loss", [((p["scores"], y), {}) for p in points])
        return [_loss(expect_tuple(o, 2, fn="softmax_loss", names="(loss, dscores)")[0], "softmax_loss")
                for o in outs]

    coords = probe_coords(scores.shape, ctx.rng, scores.size)
    num, _ = numerical_gradient(evaluate_many, {"scores": scores}, "scores", None, coords)
    compare_gradient(ds, num, coords, fn="softmax_loss", what="dscores",
                     against="central differences of your loss", on="scores of shape (4, 5)",
                     hint="dscores must be the derivative of the loss you return: "
                          "(softmax(scores) - onehot(y)) / N")


def check_softmax_stability(ctx) -> None:
    scores, y = _scores(ctx, 4, 5, scale=1.0)
    big = scores * 1e3 + np.array([[1e4], [-1e4], [1e3], [0.0]])
    ctx.warnings.clear()
    loss, ds = expect_tuple(ctx.call("softmax_loss", big, y), 2, fn="softmax_loss",
                            names="(loss, dscores)")
    if ctx.warnings:
        raise Fail(f"softmax_loss emits '{ctx.warnings[0]}' on scores of magnitude 1e3-1e4. "
                   "Hint: subtract each row's maximum before np.exp, and take log-probabilities as "
                   "shifted - log(sum(exp(shifted))) rather than log(p), which is log(0) = -inf")
    loss = _loss(loss, "softmax_loss")
    expected = oracle_softmax_loss(big, y)
    if not np.isclose(loss, expected, rtol=1e-6, atol=1e-8):
        raise Fail(f"softmax_loss: on scores of magnitude 1e3-1e4 the loss is {loss:.8g}, expected "
                   f"{expected:.8g}. Hint: compute log-probabilities as shifted - log(sum(exp(shifted)))")
    got = _arr(ds, "softmax_loss", "dscores", big.shape)
    shifted = big - big.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    p[np.arange(4), y] -= 1.0
    assert_close(got, p / 4, fn="softmax_loss", what="dscores", on="scores of magnitude 1e3-1e4",
                 hint="subtract each row's maximum before exp")


def _network(ctx, n=6, d=5, h=4, c=3):
    X = ctx.rng.normal(size=(n, d))
    y = ctx.rng.integers(0, c, size=n)
    params = {"W1": ctx.rng.normal(0, 0.7, size=(d, h)), "b1": ctx.rng.normal(0, 0.1, size=h),
              "W2": ctx.rng.normal(0, 0.7, size=(h, c)), "b2": ctx.rng.normal(0, 0.1, size=c)}
    # Keep every hidden pre-activation at least 0.05 away from ReLU's kink, so central
    # differences (h = 1e-6) never straddle it.
    a1 = X @ params["W1"] + params["b1"]
    params["b1"] = params["b1"] + np.where(np.abs(a1).min(axis=0) < 0.05, 0.1, 0.0)
    return X, y, params


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


def check_two_layer_gradients(ctx) -> None:
    X, y, params = _network(ctx)
    for reg in (0.0, 0.3):
        _, grads = expect_tuple(ctx.call("two_layer_loss", X, y, params, reg), 2,
                                fn="two_layer_loss", names="(loss, grads)")
        grads = _grads_dict(grads, params)
        inputs = dict(params)
        f = lambda W1, b1, W2, b2: oracle_two_layer(X, y, W1, b1, W2, b2, reg)  # noqa: E731
        for name in PARAMS:
            expected = oracle_gradient(f, inputs, name)
            got = grads[name]
            hint = "backpropagate through softmax, the second affine, ReLU and the first affine"
            if reg and name.startswith("W") and np.allclose(got, expected - reg * params[name],
                                                             rtol=1e-5, atol=1e-7):
                hint = f"the regularisation gradient is missing: add reg * {name} to d{name}"
            elif reg and name.startswith("W") and np.allclose(got, expected + reg * params[name],
                                                               rtol=1e-5, atol=1e-7):
                hint = f"the regularisation gradient is 2 * reg * {name}; it is reg * {name}"
            elif reg and name.startswith("b") and not np.allclose(got, expected, rtol=1e-5, atol=1e-7) \
                    and np.allclose(got - reg * params[name], expected, rtol=1e-5, atol=1e-7):
                hint = "biases are not regularised: do not add reg * b to their gradient"
            else:
                hint = _scale_hint(got, expected, X.shape[0], f"grads['{name}']") or hint
            assert_close(got, expected, fn="two_layer_loss", what=f"grads['{name}']",
                         on=f"reg={reg}, X of shape {X.shape}, H=4, C=3", hint=hint)


def check_inputs_untouched(ctx) -> None:
    x, w, b = _layer_inputs(ctx, (3, 2, 2), 3)
    dout = ctx.rng.normal(size=(3, 3))
    res, (args, kw) = ctx.call_with_inputs("affine_forward", x, w, b)
    _, cache = expect_tuple(res, 2, fn="affine_forward", names="(out, cache)")
    assert_unchanged({"x": x, "w": w, "b": b}, args, kw, fn="affine_forward", names=("x", "w", "b"))
    _, (args, kw) = ctx.call_with_inputs("affine_backward", dout, cache)
    assert_unchanged({"dout": dout}, args[:1], kw, fn="affine_backward", names=("dout",))
    x = _nudged(ctx, (3, 4))
    res, (args, kw) = ctx.call_with_inputs("relu_forward", x)
    _, cache = expect_tuple(res, 2, fn="relu_forward", names="(out, cache)")
    assert_unchanged({"x": x}, args, kw, fn="relu_forward", names=("x",))
    d = ctx.rng.normal(size=x.shape)
    _, (args, kw) = ctx.call_with_inputs("relu_backward", d, cache)
    assert_unchanged({"dout": d}, args[:1], kw, fn="relu_backward", names=("dout",))
    # relu_backward must not have changed the cached x either: run it again on a fresh dout.
    dx2 = _arr(ctx.call("relu_backward", np.ones_like(x), cache), "relu_backward", "dx", x.shape)
    if not np.array_equal(dx2, (x > 0).astype(float)):
        raise Fail("relu_backward changed the cache from relu_forward in place (a second backward "
                   "on the same cache gives another answer). Hint: don't write into x or dout")
    scores, y = _scores(ctx, 4, 3)
    _, (args, kw) = ctx.call_with_inputs("softmax_loss", scores, y)
    assert_unchanged({"scores": scores, "y": y}, args, kw, fn="softmax_loss", names=("scores", "y"))
    X, y, params = _network(ctx)
    _, (args, kw) = ctx.call_with_inputs("two_layer_loss", X, y, params, 0.1)
    assert_unchanged({"X": X, "y": y}, args, kw, fn="two_layer_loss", names=("X", "y", "params"))
    after = args[2] if len(args) > 2 else {}
    for k in PARAMS:
        if not isinstance(after, dict) or not np.array_equal(np.asarray(after.get(k)), params[k]):
            raise Fail(f"two_layer_loss changed params['{k}'] in place. Hint: compute "
                       "W1 + reg * W1 into a new array; never `W1 += ...`")
