"""Checks of ex10 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import Findings, assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, describe_shape, expect_array, expect_tuple
from grader.checks.gradients import compare_gradient
from grader.exercises.ex10_batchnorm.oracles import (DEFAULT_EPS, DEFAULT_MOMENTUM,
                                                     backward_mistakes, complex_step_gradients,
                                                     forward_mistakes, numerical_gradients,
                                                     oracle_forward, torch_gradients)
from grader.spec import Check, Exercise, Fail, Function

FWD, BWD = "batchnorm_forward", "batchnorm_backward"
FN_PARAMS = ("x", "gamma", "beta", "bn_param")


def _inputs(rng, n, d, *, scale=3.0):
    """x with a per-feature mean and scale (so axis mistakes and a missing centring show),
    gamma away from 1 and beta away from 0."""
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, scale, size=d) + rng.uniform(-5, 5, size=d)
    return x, rng.uniform(0.5, 2.0, size=d), rng.uniform(-1.0, 1.0, size=d)


def _describe(bn_param) -> str:
    parts = [f"'{k}': array{describe_shape(v)}" if isinstance(v, np.ndarray) else f"'{k}': {v!r}"
             for k, v in bn_param.items()]
    return "bn_param={" + ", ".join(parts) + "}"


def _forward(ctx, x, gamma, beta, bn_param, keep=False):
    """Call the student's forward; returns (out, cache, bn_param as it came back)."""
    value, (args, _) = ctx.map(FWD, [((x, gamma, beta, dict(bn_param)), {})], inputs=True,
                               keep=(1,) if keep else ())[0]
    out, cache = expect_tuple(value, 2, fn=FWD, names="(out, cache)")
    after = args[3] if len(args) > 3 else None
    if not isinstance(after, dict):
        raise Fail(f"{FWD}: bn_param did not come back as a dict")
    return out, cache, after


def _running(after, key, d, on):
    if key not in after:
        raise Fail(f"{FWD}: bn_param has no '{key}' after the call with {on}. Hint: the running "
                   f"statistics are not stored: write bn_param['{key}'] = ... before returning")
    value = after[key]
    if isinstance(value, np.ndarray) and value.shape == (1, d):
        raise Fail(f"{FWD}: bn_param['{key}'] has shape (1, {d}); it must be ({d},). Hint: "
                   "reduce with keepdims=False (x.mean(axis=0))")
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] != d:
        raise Fail(f"{FWD}: bn_param['{key}'] has shape {describe_shape(value)}, expected "
                   f"({d},). Hint: the statistics are taken over the wrong axis; average each "
                   "feature over the batch, axis=0")
    return expect_array(value, fn=FWD, what=f"bn_param['{key}']", shape=(d,))


def _judge_train(ctx, x, gamma, beta, bn_param, what):
    """One training-mode call judged: out, then both running averages; the hint names the
    mistake whose outputs match the student's."""
    out, _, after = _forward(ctx, x, gamma, beta, bn_param)
    on = f"x of shape {x.shape}, {what}, {_describe(bn_param)}"
    eps = bn_param.get("eps", DEFAULT_EPS)
    mom = bn_param.get("momentum", DEFAULT_MOMENTUM)
    rm0, rv0 = bn_param.get("running_mean"), bn_param.get("running_var")
    exp = oracle_forward(x, gamma, beta, "train", eps, mom, rm0, rv0)
    mistakes = forward_mistakes(x, gamma, beta, eps, mom, rm0, rv0)
    got_out = expect_array(out, fn=FWD, what="out", shape=x.shape)

    def hint_for(i, got, default):
        for _name, values, hint in mistakes:
            if values[i] is not None and values[i].shape == got.shape and \
                    np.allclose(got, values[i], rtol=1e-7, atol=1e-10) and \
                    not np.allclose(values[i], exp[i], rtol=1e-7, atol=1e-10):
                return hint
        return default
    found = Findings()
    with found.judge():
        assert_close(got_out, exp[0], fn=FWD, what="out", on=on, rtol=1e-7, atol=1e-9,
                     hint=hint_for(0, got_out, "x_hat = (x - x.mean(axis=0)) / np.sqrt("
                                   "x.var(axis=0) + eps); out = gamma * x_hat + beta"))
    for i, key, stat in ((1, "running_mean", "mu"), (2, "running_var", "var")):
        with found.judge():
            got = _running(after, key, x.shape[1], on)
            default = f"{key} = momentum * {key} + (1 - momentum) * {stat} (batch {stat})"
            if rm0 is not None and np.array_equal(got, bn_param[key]):
                default = f"bn_param['{key}'] is unchanged: store the updated average back"
            assert_close(got, exp[i], fn=FWD, what=f"bn_param['{key}']", on=on,
                         rtol=1e-7, atol=1e-10, hint=hint_for(i, got, default))
    found.done()
    return after


# -- checks -------------------------------------------------------------------------------------
def probe(ctx) -> None:
    x, gamma, beta = _inputs(ctx.rng, 4, 3)
    out, cache, _ = _forward(ctx, x, gamma, beta, {"mode": "train"}, keep=True)
    expect_array(out, fn=FWD, what="out", shape=x.shape)
    grads = expect_tuple(ctx.call(BWD, ctx.rng.normal(size=x.shape), cache), 3, fn=BWD,
                         names="(dx, dgamma, dbeta)")
    for g, name, shape in zip(grads, ("dx", "dgamma", "dbeta"), (x.shape, (3,), (3,))):
        expect_array(g, fn=BWD, what=name, shape=shape)


def check_train_forward(ctx) -> None:
    """Training mode: batch mean, biased variance, eps inside the square root, out and the
    running averages after one call from given running statistics; a large eps (0.1) makes eps
    outside the root visible and N = 2 the biased variance."""
    found = Findings()
    for n, d, eps, mom in ((16, 5, 1e-5, 0.9), (2, 4, 0.1, 0.7), (7, 9, 1e-3, 0.5)):
        x, gamma, beta = _inputs(ctx.rng, n, d)
        bn = {"mode": "train", "eps": eps, "momentum": mom,
              "running_mean": ctx.rng.normal(size=d), "running_var": ctx.rng.uniform(0.5, 2, d)}
        with found.judge():
            _judge_train(ctx, x, gamma, beta, bn, "training mode")
    found.done()


def check_defaults(ctx) -> None:
    """bn_param {'mode': 'train'} alone: eps 1e-5 (a feature of variance 1e-4 shows it),
    momentum 0.9, running statistics from zeros, stored back with shape (D,)."""
    x, gamma, beta = _inputs(ctx.rng, 10, 4)
    x[:, 0] = ctx.rng.normal(size=10) * 1e-2
    _judge_train(ctx, x, gamma, beta, {"mode": "train"}, "only 'mode' given")


def check_running_averages(ctx) -> None:
    """Five training calls on different batches, each starting from the bn_param the last one
    returned, then a test call: the running averages follow the oracle's at every call."""
    d = 6
    bn = {"mode": "train", "momentum": 0.8}
    shift = ctx.rng.uniform(-3, 3, size=d)
    for k in range(5):
        x, gamma, beta = _inputs(ctx.rng, 8, d)
        x = x + shift
        after = _judge_train(ctx, x, gamma, beta, bn, f"call {k + 1} of 5 carrying bn_param along")
        bn = {"mode": "train", "momentum": 0.8, "running_mean": np.array(after["running_mean"]),
              "running_var": np.array(after["running_var"])}


def check_test_mode(ctx) -> None:
    """Test mode: out uses running_mean and running_var (not the batch's statistics) and leaves
    them unchanged; eps inside the square root (eps 0.05 here)."""
    found = Findings()
    for n, d, eps in ((12, 5, 1e-5), (6, 3, 0.05)):
        x, gamma, beta = _inputs(ctx.rng, n, d)
        rm, rv = ctx.rng.normal(size=d), ctx.rng.uniform(0.2, 3.0, size=d)
        bn = {"mode": "test", "eps": eps, "momentum": 0.9, "running_mean": rm.copy(),
              "running_var": rv.copy()}
        on = f"x of shape {x.shape}, {_describe(bn)}"
        with found.judge():
            out, _, after = _forward(ctx, x, gamma, beta, bn)
            got = expect_array(out, fn=FWD, what="out", shape=x.shape)
            exp = oracle_forward(x, gamma, beta, "test", eps, 0.9, rm, rv)[0]
            hint = "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta"
            if np.allclose(got, oracle_forward(x, gamma, beta, "train", eps)[0]):
                hint = ("test mode normalises with the batch's own statistics: use "
                        "bn_param['running_mean'] and bn_param['running_var'] instead")
            elif np.allclose(got, oracle_forward(x, gamma, beta, "test", eps, 0.9, rm, rv,
                                                 eps_outside=True)[0]):
                hint = "eps is outside the square root: np.sqrt(running_var + eps)"
            elif np.allclose(got, gamma * (x - rm) / rv + beta):
                hint = ("you divide by running_var: divide by its square root "
                        "np.sqrt(running_var + eps)")
            assert_close(got, exp, fn=FWD, what="out (test mode)", on=on, rtol=1e-7, atol=1e-9,
                         hint=hint)
            for key, want in (("running_mean", rm), ("running_var", rv)):
                value = after.get(key)
                if not isinstance(value, np.ndarray) or not np.array_equal(value, want):
                    raise Fail(f"{FWD} changed bn_param['{key}'] in test mode ({on}). Hint: "
                               "only training updates the running statistics; test mode reads "
                               "them")
    found.done()


def check_backward(ctx) -> None:
    """dx, dgamma, dbeta against the complex-step derivative of the contract's forward (torch
    autograd confirms a failure) and against central differences of the oracle, on the cache of the student's own forward (the only way to get
    one: a failure says when that forward is wrong on the same input)."""
    found = Findings()
    for n, d, eps in ((8, 5, 1e-5), (3, 4, 0.1), (20, 3, 1e-3)):
        x, gamma, beta = _inputs(ctx.rng, n, d)
        dout = ctx.rng.normal(size=(n, d))
        bn = {"mode": "train", "eps": eps}
        out, cache, _ = _forward(ctx, x, gamma, beta, bn, keep=True)
        fwd_ok = np.shape(out) == x.shape and np.allclose(
            np.asarray(out), oracle_forward(x, gamma, beta, "train", eps)[0], rtol=1e-7)
        note = "" if fwd_ok else (" (your batchnorm_forward is wrong on this input, see its "
                                  "checks, and the backward uses the cache it returned: fix "
                                  "the forward first)")
        grads = expect_tuple(ctx.call(BWD, dout, cache), 3, fn=BWD, names="(dx, dgamma, dbeta)")
        _judge_grads(ctx, grads, x, gamma, beta, dout, eps, note, found)
        if found.failed:
            break
    found.done()


def _named_mistake(wrong, name, arr) -> str:
    """The hint of the backward mistake whose ``name`` gradient equals ``arr``, or ""."""
    for _name, which, value, hint in wrong:
        if which == name and arr is not None and arr.shape == value.shape and \
                np.allclose(arr, value, rtol=1e-6, atol=1e-9):
            return hint
    return ""


def _against_autograd(got, name, x, gamma, beta, dout, eps, exact, *, on, hint, rtol, atol):
    """``got`` (the student's ``name``) against the complex-step gradient ``exact``; where they
    differ, the verdict is torch autograd's (imported only then: about 1.2 s of the grader's CPU,
    paid by wrong submissions only)."""
    if np.all(np.abs(got - exact) <= atol + rtol * np.abs(exact)):
        return
    auto = dict(zip(("dx", "dgamma", "dbeta"), torch_gradients(x, gamma, beta, dout, eps)))
    assert_close(got, auto[name], fn=BWD, what=name, on=on + " (against torch autograd)",
                 rtol=rtol, atol=atol, hint=hint)


def _judge_grads(ctx, grads, x, gamma, beta, dout, eps, note, found):
    n, d = x.shape
    on = f"x of shape {x.shape}, eps {eps:g}{note}"
    exact = complex_step_gradients(x, gamma, beta, dout, eps)
    numeric = numerical_gradients(x, gamma, beta, dout, eps, ctx.rng)
    wrong = backward_mistakes(x, gamma, beta, dout, eps)
    for g, name, key, shape, exp in zip(grads, ("dx", "dgamma", "dbeta"), ("x", "gamma", "beta"),
                                        ((n, d), (d,), (d,)), exact):
        with found.judge():
            arr = np.asarray(g) if isinstance(g, np.ndarray) else None
            hint = _named_mistake(wrong, name, arr)
            if hint and arr.shape != shape:
                raise Fail(f"{BWD}: {name} has shape {describe_shape(arr)}, expected "
                           f"{describe_shape(np.empty(shape))} on {on}. Hint: {hint}")
            got = expect_array(g, fn=BWD, what=name, shape=shape)
            coords, num = numeric[key]
            compare_gradient(got, num, coords, fn=BWD, what=name, on=on,
                             against="central differences of the specified forward",
                             hint=hint or "backpropagate through out = gamma * x_hat + beta, "
                                          "x_hat, the batch mean and the batch variance")
            _against_autograd(got, name, x, gamma, beta, dout, eps, exp, on=on, rtol=1e-7,
                              atol=1e-10, hint=hint or "see the formula in the teaching text")


def check_zero_variance(ctx) -> None:
    """A constant feature and one of variance ~1e-14: out finite (beta on the constant feature),
    dx, dgamma, dbeta finite and equal to the complex-step gradients (confirmed by torch autograd
    where they differ; eps in the square root keeps 1 / sqrt(var + eps) bounded)."""
    n, d = 10, 4
    x, gamma, beta = _inputs(ctx.rng, n, d)
    x[:, 1] = 2.5
    x[:, 2] = -1.0 + 1e-7 * ctx.rng.normal(size=n)
    on = "x of shape (10, 4) whose feature 1 is constant and feature 2 has variance ~1e-14"
    out, cache, _ = _forward(ctx, x, gamma, beta, {"mode": "train"}, keep=True)
    try:
        got = expect_array(out, fn=FWD, what="out", shape=x.shape)
    except Fail as exc:
        raise Fail(f"{exc} on {on}. Hint: add eps inside the square root, np.sqrt(var + eps), "
                   "so a feature with zero variance does not divide by zero") from None
    assert_close(got, oracle_forward(x, gamma, beta)[0], fn=FWD, what="out", on=on, rtol=1e-6,
                 atol=1e-8, hint="x_hat = (x - mu) / np.sqrt(var + eps): a constant feature "
                                 "gives x_hat = 0 and out = beta")
    dout = ctx.rng.normal(size=x.shape)
    grads = expect_tuple(ctx.call(BWD, dout, cache), 3, fn=BWD, names="(dx, dgamma, dbeta)")
    wrong = backward_mistakes(x, gamma, beta, dout, DEFAULT_EPS)
    for g, name, exp in zip(grads, ("dx", "dgamma", "dbeta"),
                            complex_step_gradients(x, gamma, beta, dout, DEFAULT_EPS)):
        got = expect_array(g, fn=BWD, what=name, shape=exp.shape)
        _against_autograd(got, name, x, gamma, beta, dout, DEFAULT_EPS, exp, on=on, rtol=1e-6,
                          atol=1e-6, hint=_named_mistake(wrong, name, got) or
                          "use 1 / np.sqrt(var + eps) from the forward; never divide by the "
                          "bare variance or standard deviation")


def check_inputs_untouched(ctx) -> None:
    """x, gamma, beta (forward) and dout (backward) are not changed in place; bn_param may be."""
    x, gamma, beta = _inputs(ctx.rng, 6, 4)
    for mode in ("train", "test"):
        bn = {"mode": mode, "running_mean": np.zeros(4), "running_var": np.ones(4)}
        value, (args, kw) = ctx.map(FWD, [((x.copy(), gamma.copy(), beta.copy(), bn), {})],
                                    inputs=True, keep=(1,))[0]
        assert_unchanged({"x": x, "gamma": gamma, "beta": beta}, args, kw, fn=FWD,
                         names=FN_PARAMS)
    _, cache, _ = _forward(ctx, x, gamma, beta, {"mode": "train"}, keep=True)
    dout = ctx.rng.normal(size=x.shape)
    _, (args, kw) = ctx.call_with_inputs(BWD, dout.copy(), cache)
    assert_unchanged({"dout": dout}, args, kw, fn=BWD, names=("dout", "cache"))


__all__ = ["Check", "Exercise", "Function", "FWD", "BWD", "FN_PARAMS", "forbidden_check",
           "signature_check", "probe", "check_train_forward", "check_defaults",
           "check_running_averages", "check_test_mode", "check_backward", "check_zero_variance",
           "check_inputs_untouched"]
