"""Checks of ex12 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import Failures, Findings, assert_unchanged, forbidden_check, \
    signature_check
from grader.checks.compare import assert_close, expect_array, expect_tuple
from grader.checks.gradients import compare_gradient, numerical_gradient, probe_coords
from grader.context import StudentRaised
from grader.exercises.ex12_logistic.oracles import as_float, oracle_loss, oracle_train
from grader.spec import Check, Exercise, Fail, Function

LOSS, TRAIN = "logistic_loss", "train_logistic"
RTOL, ATOL = 1e-6, 1e-12
#: Deterministic worst cases (z = X·w + b, label): far on the wrong side, far on the right side.
WORST = ((1e4, 0.0), (-1e4, 1.0), (800.0, 0.0), (-800.0, 1.0), (-1e4, 0.0), (1e4, 1.0),
         (40.0, 0.0), (-40.0, 1.0))


def _data(rng, n, d, scale=1.0):
    X = rng.normal(0.0, scale, size=(n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    return X, y


def _unpack(value, d, on):
    loss, dw, db = expect_tuple(value, 3, fn=LOSS, names="(loss, dw, db)")
    loss = as_float(loss, LOSS, f"the loss ({on})")
    if isinstance(dw, np.ndarray) and dw.shape == (d, 1):
        raise Fail(f"{LOSS}: dw has shape ({d}, 1) on {on}, expected ({d},). Hint: w is 1-D; "
                   "X.T @ (p - y) with p and y of shape (N,) gives (D,)")
    dw = expect_array(dw, fn=LOSS, what=f"dw ({on})", shape=(d,))
    return loss, dw, as_float(db, LOSS, f"db ({on})")


#: The usual mistakes, as oracle_loss flags and the hint naming each; a student's values are
#: compared with every combination of one scale mistake, one penalty mistake and one sign
#: mistake (fewest mistakes first), so two mistakes together are named together.
_SCALE = ((dict(mean=False), "you sum over the N examples: the loss and gradients are means "
                             "(divide by N)"),)
_PENALTY = (
    (dict(reg_factor=0.0, grad_reg=0.0), "reg is ignored: the loss lacks 0.5*reg*||w||^2 and dw "
                                         "lacks reg*w"),
    (dict(reg_factor=0.0), "reg is ignored in the loss: it lacks 0.5*reg*||w||^2 (dw has reg*w)"),
    (dict(grad_reg=0.0), "reg is ignored in dw: it lacks reg*w (the loss has 0.5*reg*||w||^2)"),
    (dict(reg_b=True), "the bias is regularised too: 0.5*reg*||w||^2 is on w only, db has no "
                       "reg term"),
    (dict(reg_factor=1.0, grad_reg=2.0), "the penalty is reg*||w||^2 (gradient 2*reg*w): the "
                                         "contract's is 0.5*reg*||w||^2 with gradient reg*w"),
    (dict(reg_factor=1.0, grad_reg=2.0, reg_b=True),
     "the penalty is reg*(||w||^2 + b^2) (gradient 2*reg*w, and 2*reg*b in db, as when the bias "
     "is a column of X): the contract's is 0.5*reg*||w||^2 on w only, gradient reg*w"),
    (dict(reg_factor=1.0), "the penalty is reg*||w||^2 but the gradient reg*w: use "
                           "0.5*reg*||w||^2"),
    (dict(grad_reg=2.0), "the penalty's gradient is 2*reg*w; for 0.5*reg*||w||^2 it is reg*w"),
    (dict(reg_over_n=True), "the penalty is divided by N (reg/(2N)*||w||^2, gradient reg*w/N, "
                            "the convention of Andrew Ng's Deep Learning and Machine Learning "
                            "courses): the contract's is 0.5*reg*||w||^2 with gradient reg*w, "
                            "not divided by N"),
)
_SIGN = ((dict(grad_sign=-1.0), "the gradient has the wrong sign: dw = X.T @ (p - y) / N, not "
                                "X.T @ (y - p)"),)


def _combinations():
    none = ((dict(), ""),)
    out = []
    for sc in none + _SCALE:
        for pe in none + _PENALTY:
            for sg in none + _SIGN:
                parts = [m for m in (sc, pe, sg) if m[1]]
                if parts:
                    out.append((len(parts), {k: v for m in parts for k, v in m[0].items()},
                                "; ".join(m[1] for m in parts)))
    return tuple((kw, hint) for _, kw, hint in sorted(out, key=lambda t: t[0]))


#: (oracle_loss flags, hint) for every named mistake and combination, fewest mistakes first.
_MISTAKES = _combinations()


def _diagnose(got, w, b, X, y, reg, labels=True) -> str:
    """The hint naming the mistake (or mistakes) whose values ``got`` (loss, dw, db) equal; ""
    when none does. A penalty mistake can only match where reg > 0 (else it is the oracle).
    ``labels=False`` skips the {-1, 1} test, which compares dw only (meaningless where X = 0)."""
    ym = 2 * y - 1
    if labels and (ym != y).any() and \
            np.allclose(got[1], oracle_loss(w, b, X, ym, reg)[1], rtol=1e-6, atol=1e-12):
        return "labels are in {0, 1}, not {-1, 1}"
    for kw, hint in _MISTAKES:
        exp = oracle_loss(w, b, X, y, reg, **kw)
        if np.isclose(got[0], exp[0], rtol=1e-6) and \
                np.allclose(got[1], exp[1], rtol=1e-6, atol=1e-12) and \
                np.isclose(got[2], exp[2], rtol=1e-6, atol=1e-12):
            return hint
    return ""


def _judge(got, w, b, X, y, reg, on) -> None:
    exp = oracle_loss(w, b, X, y, reg)
    hint = _diagnose(got, w, b, X, y, reg)
    for k, name, h in ((0, "the loss", "loss = mean(np.logaddexp(0, z) - y*z) + 0.5*reg*w@w"),
                       (1, "dw", "dw = X.T @ (p - y) / N + reg*w"), (2, "db", "db = mean(p - y)")):
        assert_close(np.asarray(got[k]), np.asarray(exp[k]), fn=LOSS, what=name, on=on,
                     hint=hint or h, rtol=RTOL, atol=1e-10)


def probe(ctx) -> None:
    X, y = _data(ctx.rng, 4, 3)
    _unpack(ctx.call(LOSS, np.zeros(3), 0.0, X, y), 3, "a probe")
    w, b, losses = expect_tuple(ctx.call(TRAIN, X, y, 0.1, 2), 3, fn=TRAIN, names="(w, b, losses)")
    expect_array(w, fn=TRAIN, what="w", shape=(3,))
    as_float(b, TRAIN, "b")


def check_values(ctx) -> None:
    found = Findings()
    for n, d, reg in ((20, 5, 0.0), (7, 3, 0.3), (1, 4, 0.0), (50, 2, 1.5)):
        X, y = _data(ctx.rng, n, d)
        w, b = ctx.rng.normal(size=d), float(ctx.rng.normal())
        on = f"X of shape ({n}, {d}), reg={reg}"
        with found.judge(on):
            _judge(_unpack(ctx.call(LOSS, w, b, X, y, reg), d, on), w, b, X, y, reg, on)
    found.done()


def check_default_reg(ctx) -> None:
    X, y = _data(ctx.rng, 9, 4)
    w, b = ctx.rng.normal(size=4), 0.5
    _judge(_unpack(ctx.call(LOSS, w, b, X, y), 4, "reg left out"), w, b, X, y, 0.0, "reg left out")


def check_gradient_numeric(ctx) -> None:
    """dw and db against central differences of the oracle's loss (reg 0.7)."""
    X, y = _data(ctx.rng, 12, 5)
    w, b, reg = ctx.rng.normal(size=5), 0.3, 0.7
    got = _unpack(ctx.call(LOSS, w, b, X, y, reg), 5, "X of shape (12, 5), reg=0.7")
    _, dw, db = got
    hint = _diagnose(got, w, b, X, y, reg) or "dw = X.T @ (p - y) / N + reg*w, db = mean(p - y)"

    def evaluate(points):
        return [oracle_loss(p["w"], float(p["b"][0]), X, y, reg)[0] for p in points]
    inputs = {"w": w, "b": np.array([b])}
    for name, got in (("w", dw), ("b", np.array([db]))):
        coords = probe_coords(inputs[name].shape, ctx.rng, 10)
        num, _ = numerical_gradient(evaluate, inputs, name, None, coords)
        compare_gradient(got, num, coords, fn=LOSS, what="d" + name, against="central differences "
                         "of the loss", on="X of shape (12, 5), reg=0.7", hint=hint)


def check_stability(ctx) -> None:
    """Every worst case (one example each, D = 1, z set through b) and all of them together."""
    found = Findings()
    cases = [(np.array([[0.0]]), np.array([yy]), np.zeros(1), z) for z, yy in WORST]
    X = ctx.rng.normal(size=(len(WORST), 2))
    w = np.array([1e-3, -1e-3])
    zs = np.array([z for z, _ in WORST])
    X[:, 0] += (zs - X @ w) / w[0]
    cases.append((X, np.array([yy for _, yy in WORST]), w, 0.0))
    for X, y, w, b in cases:
        on = f"z = X·w + b = {np.array2string(X @ w + b, precision=3)}, y = {y}"
        with found.judge(on):
            ctx.warnings.clear()
            got = _unpack(ctx.call(LOSS, w, float(b), X, y), w.size, on)
            if ctx.warnings:
                raise Fail(f"{LOSS} emits '{ctx.warnings[0]}' on {on}. Hint: np.log(sigmoid(z)) "
                           "takes log(0) and exp(-z) overflows for large |z|; write the loss as "
                           "np.logaddexp(0, z) - y*z and the sigmoid with exp(-|z|) only")
            exp = oracle_loss(w, float(b), X, y)
            assert_close(np.asarray(got[0]), np.asarray(exp[0]), fn=LOSS, what="the loss", on=on,
                         rtol=RTOL, atol=ATOL,
                         hint=_diagnose(got, w, float(b), X, y, 0.0, labels=False) or
                         _clip_hint(got[0], exp[0], y.size) or
                         "log(sigmoid(z)) loses everything for large |z|: use "
                         "np.logaddexp(0, z) - y*z, exact for any z")
            assert_close(got[1], exp[1], fn=LOSS, what="dw", on=on, rtol=RTOL, atol=ATOL)
    found.done()


def _clip_hint(got: float, exp: float, n: int) -> str:
    """The hint for a one-example loss capped at -log(eps), eps a power of ten (p clipped to
    [eps, 1 - eps], or eps added inside the log); "" for any other value."""
    if n != 1 or not 0.0 < got < exp:
        return ""
    k = -got / np.log(10.0)
    if not (-300 < k < -3 and abs(k - round(k)) < 2e-3):
        return ""
    return (f"the loss is {got:.6g}, about -log(1e{round(k)}): clipping p to [eps, 1 - eps] "
            "(or adding eps inside the log) caps each example's loss at -log(eps), while the "
            "exact loss grows like |z|; use np.logaddexp(0, z) - y*z, which needs no clipping")


def _train_hint(got, X, y, lr, iters, reg) -> str:
    """The hint for losses of the right count that are not the oracle's: what they match (a
    recording moment after the update and a handling of reg: ignored, divided by N; an uphill
    step; b frozen), else what their first value shows (N·log 2: summed; not log 2: a wrong
    start; log 2: the later steps are off)."""
    n = X.shape[0]
    regs = ((reg, ""), (0.0, "reg is ignored in training (pass reg to logistic_loss)"),
            (reg / n, "the penalty is divided by N (reg/(2N)*||w||^2, gradient reg*w/N): the "
                      "contract's is 0.5*reg*||w||^2"))
    for r, what in (regs if reg else regs[:1]):
        for after in (False, True):
            if (r, after) == (reg, False):
                continue
            if np.allclose(got, oracle_train(X, y, lr, iters, r, after=after)[2], rtol=1e-6):
                moment = "the losses are recorded after each update: record them before" \
                    if after else ""
                return "; ".join(t for t in (moment, what) if t)
    if np.allclose(got, oracle_train(X, y, -lr, iters, reg)[2], rtol=1e-6):
        return ("the loss grows: each step goes uphill (w = w + learning_rate*dw); "
                "gradient descent subtracts: w = w - learning_rate*dw, b likewise")
    if np.allclose(got, oracle_train(X, y, lr, iters, reg, update_b=False)[2], rtol=1e-6):
        return "b is never updated: b = b - learning_rate*db at every iteration, as w"
    if np.isclose(got[0], n * np.log(2.0), rtol=1e-9) and n > 1:
        return (f"the first loss is {got[0]:.6g} = N*log 2 (N = {n}): the losses are sums over "
                "the examples; the loss is their mean (divide by N)")
    if not np.isclose(got[0], np.log(2.0), rtol=1e-9):
        return (f"the first loss is {got[0]:.6g}, not log 2 = 0.693147, the loss at w = 0, b = 0: "
                "start from w = 0, b = 0 and record the loss before each update")
    return ("the first loss (log 2, at w = 0, b = 0) is right and later ones differ, so the "
            "updates or the later losses are off: each iteration takes (loss, dw, db) = "
            "logistic_loss(w, b, X, y, reg), records loss, then w = w - learning_rate*dw, "
            "b = b - learning_rate*db (if logistic_loss fails its checks, fix it first)")


def _count_hint(got, iters) -> str:
    """The hint for losses of the wrong count: one per 100 iterations, the first log 2."""
    if got.size == len(range(0, iters, 100)) < iters and got.size and \
            np.isclose(got[0], np.log(2.0), rtol=1e-9):
        return (f". Hint: {got.size} loss(es), the first log 2 at w = 0: as if recorded only when "
                "i % 100 == 0 (every 100 iterations, the Deep Learning Specialization's "
                "learning-curve costs); append the loss at every iteration")
    return ""


def check_train(ctx) -> None:
    found = Findings()
    for args, kw, on in (((0.5, 30, 0.1), {}, "learning_rate=0.5, num_iters=30, reg=0.1"),
                         ((), {}, "the defaults (learning_rate=0.1, num_iters=100, reg=0)")):
        X, y = _data(ctx.rng, 25, 3, 2.0)
        with found.judge(on):
            w, b, losses = expect_tuple(ctx.call(TRAIN, X, y, *args, **kw), 3, fn=TRAIN,
                                        names="(w, b, losses)")
            lr, iters, reg = args or (0.1, 100, 0.0)
            ew, eb, el = oracle_train(X, y, lr, iters, reg)
            got = _losses(losses, iters, on)
            if got.shape != (iters,):
                raise Fail(f"{TRAIN} returned {got.size} losses on {on}; expected {iters}, one per "
                           "iteration, recorded before each update" + _count_hint(got, iters))
            hint = "" if np.allclose(got, el, rtol=RTOL) else _train_hint(got, X, y, lr, iters, reg)
            assert_close(got, np.array(el), fn=TRAIN, what="losses", on=on, hint=hint, rtol=RTOL)
            assert_close(expect_array(w, fn=TRAIN, what="w", shape=(3,)), ew, fn=TRAIN, what="w",
                         on=on, rtol=RTOL, hint="w = w - learning_rate*dw at every iteration")
            assert_close(np.asarray(as_float(b, TRAIN, "b")), np.asarray(eb), fn=TRAIN, what="b",
                         on=on, rtol=RTOL, hint="b = b - learning_rate*db at every iteration")
    check_zero_iterations(ctx, found, *_data(ctx.rng, 5, 3))
    found.done()


def _losses(losses, iters: int, on: str) -> np.ndarray:
    """The student's ``losses`` (list, tuple or 1-D array of floats) as a float64 array of
    shape (n,); anything else (None, a scalar, nested or ragged lists, 2-D arrays) is a
    :class:`Fail` naming what came back - never handed to numpy to guess its shape."""
    if not isinstance(losses, (list, tuple, np.ndarray)) or \
            (isinstance(losses, np.ndarray) and losses.ndim != 1):
        kind = "None (a missing return?)" if losses is None else (
            f"an array of shape {losses.shape}" if isinstance(losses, np.ndarray)
            else type(losses).__name__)
        want = f"a list of {iters} floats" if iters else "an empty list"
        raise Fail(f"{TRAIN} returned {kind} as losses on {on}; expected {want}, the loss "
                   "before each update. Hint: losses.append(loss) inside the loop, and return "
                   "(w, b, losses)")
    return np.array([as_float(v, TRAIN, f"a loss ({on})") for v in list(losses)], dtype=float)


def check_zero_iterations(ctx, found, X, y) -> None:
    """num_iters=0: no update, so (zeros(D), 0, []) (the contract: num_iters losses)."""
    on = "num_iters=0"
    with found.judge(on):
        try:
            value = ctx.call(TRAIN, X, y, 0.1, 0)
        except StudentRaised as exc:
            raise Failures(f"{TRAIN} crashed on {on}, where it must return (zeros(D), 0, []). "
                           "Hint: with no iteration the loop body never runs, so nothing it "
                           "assigns (dw, db, the last loss) exists after the loop"
                           f"\n  Also, on {on}: {exc.fn} crashed:", (exc.fn, exc.error), on)
        w, b, losses = expect_tuple(value, 3, fn=TRAIN, names="(w, b, losses)")
        got = _losses(losses, 0, on)
        if got.size != 0:
            raise Fail(f"{TRAIN} returned {got.size} losses "
                       f"on {on}; expected an empty list (no iteration, no loss). Hint: append "
                       "the loss inside the loop over range(num_iters), nowhere else")
        assert_close(expect_array(w, fn=TRAIN, what="w", shape=(X.shape[1],)),
                     np.zeros(X.shape[1]), fn=TRAIN, what="w", on=on, atol=0.0, rtol=0.0,
                     hint="with no iteration w stays at its start, zeros(D)")
        assert_close(np.asarray(as_float(b, TRAIN, f"b ({on})")), np.asarray(0.0), fn=TRAIN,
                     what="b", on=on, atol=0.0, rtol=0.0, hint="with no iteration b stays at 0")


def check_inputs_untouched(ctx) -> None:
    """Both functions, so an input changed by either is named (each names all it changed)."""
    found = Findings()
    X, y = _data(ctx.rng, 6, 3)
    w = ctx.rng.normal(size=3)
    _, (args, kw) = ctx.call_with_inputs(LOSS, w.copy(), 0.2, X.copy(), y.copy(), 0.1)
    with found.judge(LOSS):
        assert_unchanged({"w": w, "X": X, "y": y}, args, kw, fn=LOSS,
                         names=("w", "b", "X", "y", "reg"))
    _, (args, kw) = ctx.call_with_inputs(TRAIN, X.copy(), y.copy(), 0.1, 5)
    with found.judge(TRAIN):
        assert_unchanged({"X": X, "y": y}, args, kw, fn=TRAIN, names=("X", "y"))
    found.done()
