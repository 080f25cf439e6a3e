"""Checks of ex01 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import Findings, assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, expect_array
from grader.checks.gradients import (compare_gradient, numerical_gradient, probe_coords,
                                     reference_values)
from grader.spec import Check, Exercise, Fail, Function

SHAPES = [(7,), (1,), (3, 4), (1, 5), (2, 3, 5)]
#: Inputs where a naive ``1/(1+exp(-z))`` overflows (exp(710) > float64 max).
EXTREMES = np.array([-1e4, -1000.0, -745.0, -710.0, -709.0, -50.0, -1e-8, 0.0, 1e-8, 50.0, 709.0,
                     710.0, 745.0, 1000.0, 1e4])


def oracle_sigmoid(z: np.ndarray) -> np.ndarray:
    """Stable logistic sigmoid: exp is only taken of -|z| (never overflows)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _inputs(ctx):
    return [ctx.rng.normal(0.0, 4.0, size=s) for s in SHAPES]


def check_sigmoid_values(ctx) -> None:
    zs = _inputs(ctx)
    outs = ctx.map("sigmoid", [((z,), {}) for z in zs])
    for z, out in zip(zs, outs):
        on = f"z of shape {z.shape}"
        s = expect_array(out, fn="sigmoid", what="the output", shape=z.shape)
        hint = "sigmoid(z) = 1 / (1 + exp(-z)); mind the sign of the exponent"
        if np.allclose(s, oracle_sigmoid(-z)):
            hint = "your output is sigmoid(-z): the exponent must be exp(-z), not exp(z)"
        elif np.allclose(s, np.exp(-z)):
            hint = "your output is exp(-z): divide 1 by (1 + exp(-z))"
        assert_close(s, oracle_sigmoid(z), fn="sigmoid", what="the output", on=on, hint=hint)


def check_sigmoid_stability(ctx) -> None:
    """Both functions on the inputs where a naive formula overflows (:data:`EXTREMES`, every one
    on every seed, in a seeded order): finite, exact, no warning. Each function is judged."""
    z = ctx.rng.permutation(EXTREMES)
    found = Findings()
    for fn, oracle in (("sigmoid", oracle_sigmoid),
                       ("sigmoid_grad", lambda v: oracle_sigmoid(v) * (1 - oracle_sigmoid(v)))):
        with found.judge(f"{fn} on large |z|"):
            ctx.warnings.clear()
            out = ctx.call(fn, z)
            s = expect_array(out, fn=fn, what="the output", shape=z.shape)
            if ctx.warnings:
                raise Fail(f"{fn} emits '{ctx.warnings[0]}' on z = "
                           f"{np.array2string(z, precision=4)}. Hint: exp(-z) overflows for "
                           "z < -709; for negative z compute exp(z) / (1 + exp(z)) instead "
                           "(np.where on the sign of z), so exp only sees non-positive numbers")
            assert_close(s, oracle(z), fn=fn, what="the output", on="large |z| (up to 1e4)",
                         hint="use a form that never computes exp of a large positive number")
    found.done()


def check_sigmoid_grad_values(ctx) -> None:
    zs = _inputs(ctx)
    outs = ctx.map("sigmoid_grad", [((z,), {}) for z in zs])
    for z, out in zip(zs, outs):
        g = expect_array(out, fn="sigmoid_grad", what="the output", shape=z.shape)
        s = oracle_sigmoid(z)
        hint = "sigmoid'(z) = s * (1 - s) with s = sigmoid(z)"
        if np.allclose(g, z * (1 - z)):
            hint = "you computed z * (1 - z): apply the sigmoid first, s = sigmoid(z), then s * (1 - s)"
        elif np.allclose(g, s * (1 + s)):
            hint = "you computed s * (1 + s): the derivative is s * (1 - s)"
        elif np.allclose(g, s):
            hint = "you returned sigmoid(z) itself, not its derivative"
        assert_close(g, s * (1 - s), fn="sigmoid_grad", what="the output", on=f"z of shape {z.shape}",
                     hint=hint)


def check_sigmoid_grad_numeric(ctx) -> None:
    """sigmoid_grad against central differences of the sigmoid (elementwise, so the Jacobian's
    diagonal is the gradient; dout = ones): of the student's own sigmoid where it agrees with the
    oracle, else of the oracle's, so a sigmoid_grad is never judged against a wrong sigmoid."""
    z = ctx.rng.normal(0.0, 3.0, size=(4, 6))
    g = expect_array(ctx.call("sigmoid_grad", z), fn="sigmoid_grad", what="the output", shape=z.shape)
    used = {}

    def evaluate_many(points):
        own = [expect_array(o, fn="sigmoid", what="the output", shape=z.shape)
               for o in ctx.map("sigmoid", [((p["z"],), {}) for p in points])]
        values, used["own"] = reference_values(own, [oracle_sigmoid(p["z"]) for p in points])
        return values

    coords = probe_coords(z.shape, ctx.rng, 24)
    num, _ = numerical_gradient(evaluate_many, {"z": z}, "z", np.ones_like(z), coords)
    against = ("central differences of your sigmoid" if used["own"] else "central differences "
               "of the correct sigmoid (yours is wrong too: see sigmoid_values)")
    compare_gradient(g, num, coords, fn="sigmoid_grad", what="sigmoid_grad(z)", against=against,
                     on="z of shape (4, 6)",
                     hint="sigmoid_grad is the derivative of the sigmoid: s * (1 - s)")


def probe(ctx) -> None:
    z = ctx.rng.normal(size=(2, 3))
    for fn in ("sigmoid", "sigmoid_grad"):
        expect_array(ctx.call(fn, z), fn=fn, what="the output", shape=z.shape)


def check_inputs_untouched(ctx) -> None:
    found = Findings()
    for fn in ("sigmoid", "sigmoid_grad"):
        with found.judge(fn):
            z = ctx.rng.normal(0.0, 3.0, size=(3, 4))
            _, (args, kwargs) = ctx.call_with_inputs(fn, z.copy())
            assert_unchanged({"z": z}, args, kwargs, fn=fn, names=("z",))
    found.done()
