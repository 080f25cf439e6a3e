"""Checks of ex09 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import Findings, assert_unchanged
from grader.checks.compare import assert_close, describe_shape, expect_array, expect_tuple
from grader.context import StudentRaised
from grader.exercises.ex09_optim.diagnose import T_STARTS_AT_ONE, diagnose
from grader.exercises.ex09_optim.oracles import DEFAULTS, STATE, updates
from grader.spec import Fail

FNS = tuple(DEFAULTS)
#: Steps in the long runs (the contract: "over many steps"; the issue: at least 50).
STEPS = 60
#: Tolerances on the update next_w - w and on the state arrays.
STEP_RTOL, STEP_ATOL = 1e-6, 1e-12
STATE_RTOL = 1e-9


def _gradients(rng, shape, steps, scales=(1e-9, 1e-3, 0.1, 1.0, 10.0)):
    """``steps`` varying gradients; each last-axis column has its own scale (tiny ones make the
    place of epsilon visible), drifting in sign and size from step to step."""
    col = np.resize(np.asarray(scales, dtype=np.float64), shape[-1])
    drift = rng.normal(size=shape)
    return [(0.6 * drift + rng.normal(size=shape)) * col * (1 + 0.5 * np.sin(k / 5.0))
            for k in range(steps)]


def _unpack(fn, value, where, shape, dw=None):
    """(next_w, config) from the student's return value, or Fail. ``dw`` (the call's gradient)
    tells the causes of a non-finite Adam step apart."""
    next_w, config = expect_tuple(value, 2, fn=fn, names="(next_w, config)")
    try:
        got = expect_array(next_w, fn=fn, what=f"next_w ({where})", shape=shape)
    except Fail as exc:
        if "contains" in str(exc) and fn in ("adam_update", "rmsprop_update"):
            raise Fail(str(exc).split(". Hint:")[0] + ". Hint: " + _nonfinite_hint(
                fn, next_w, dw)) from None
        raise
    if not isinstance(config, dict):
        raise Fail(f"{fn} returned {type(config).__name__} as config ({where}); return the state "
                   f"dict with {', '.join(STATE[fn])} updated, so the next call continues from it")
    return got, config


def _nonfinite_hint(fn, next_w, dw) -> str:
    """Why next_w holds NaN or inf: Adam's division by 1 - beta**0 = 0 makes every element
    non-finite; a square root of a moving average of dw (not dw**2) makes exactly the elements
    with dw < 0 NaN (on a first step)."""
    bad = ~np.isfinite(np.asarray(next_w, dtype=np.float64))
    neg = None if dw is None or np.shape(dw) != bad.shape else np.asarray(dw) < 0
    if fn == "rmsprop_update":
        return "the square root of a negative cache: the moving average takes dw**2, not dw"
    if bad.all():
        return ("a division by 1 - beta1**0 = 0: t is incremented after the bias correction; "
                "increment it first")
    if neg is not None and np.array_equal(bad, neg):
        return ("NaN exactly where dw < 0: the square root of a negative v. v is the moving "
                "average of dw**2 and m that of dw; are m and v swapped (m taking dw**2, v dw)?")
    return ("the square root of a negative v or a division by zero: v averages dw**2 (never "
            "negative) and t is incremented before the bias correction")


def _describe(config) -> str:
    if config is None:
        return "config=None"
    return "config={" + ", ".join(
        f"'{k}': array{describe_shape(v)}" if isinstance(v, np.ndarray) else f"'{k}': {v!r}"
        for k, v in config.items()) + "}"


def _run(ctx, fn, chains):
    """Feed the student's next_w and config back, chain by chain, for len(grads) steps.

    ``chains`` is a list of ``(w0, grads, config0)`` with the same number of steps; the chains
    are independent and advance together, one round trip per step for all of them (each call
    gets its own chain's last next_w and config, as a sequential run would). Returns
    ``[(next_ws, configs)]`` per chain."""
    state = [(w0, config0) for w0, _, config0 in chains]
    out = [([], []) for _ in chains]
    for k in range(len(chains[0][1])):
        values = ctx.map(fn, [((w, grads[k], config), {})
                              for (w, config), (_, grads, _) in zip(state, chains)])
        for c, (value, (w0, grads, config0)) in enumerate(zip(values, chains)):
            where = f"step {k + 1} of {len(grads)}, starting from {_describe(config0)}"
            w, config = _unpack(fn, value, where, w0.shape, grads[k])
            state[c] = (w, config)
            out[c][0].append(w)
            out[c][1].append({key: (v.copy() if isinstance(v, np.ndarray) else v)
                              for key, v in config.items()})
    return out


def _copy(config):
    return None if config is None else {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                        for k, v in config.items()}


def _update_ok(got, expected, prev) -> bool:
    """The update tolerance of :func:`_judge`."""
    atol = max(STEP_ATOL, 1e-15 * float(np.max(np.abs(prev))))
    return bool(np.all(np.abs(got - expected) <= atol + STEP_RTOL * np.abs(expected)))


def _same_config(got, want: dict) -> bool:
    """``got`` is exactly the contract's config ``want``: the same keys, the same
    hyperparameters and t, the state arrays within the state tolerance."""
    if not isinstance(got, dict) or set(got) != set(want):
        return False
    for key, value in want.items():
        g = got[key]
        if isinstance(value, np.ndarray):
            if not (isinstance(g, np.ndarray) and g.dtype == np.float64 and g.shape == value.shape
                    and np.all(np.abs(g - value) <= 1e-300 + STATE_RTOL * np.abs(value))):
                return False
        elif isinstance(g, bool) or not isinstance(g, (int, float)) or g != value:
            return False
    return True


def _fast(ctx, fn, chains) -> bool:
    """The chains in one round trip, each step fed the oracle's weights and config.

    Every call gets what a sequential run of a correct submission would feed it (the oracle's
    w_k and config_k), in the order a sequential run makes the calls (chain by chain, step by
    step). True when every update equals the oracle's within :func:`_judge`'s tolerance and
    every returned config is exactly the contract's next one (no other key): the sequential
    run then makes the same calls (the update does not depend on w; the state agrees to
    rounding) and passes, so it is not needed. False otherwise, and never a verdict: the
    caller runs the chains sequentially and judges them as before (a wrong submission's
    messages come from the sequential run only)."""
    argsets, expected = [], []
    for w0, grads, config0 in chains:
        cfg = config0 or {}
        hp = _hp(fn, config0)
        ups, states = updates(fn, grads, hp, {k: cfg[k] for k in STATE[fn] if k in cfg})
        configs = [{**cfg, **hp, **state} for state in states]
        w = w0
        for k, dw in enumerate(grads):
            argsets.append(((w, dw, _copy(config0 if k == 0 else configs[k - 1])), {}))
            expected.append((w, ups[k], configs[k]))
            w = w + ups[k]
    try:
        values = ctx.map(fn, argsets)
    except StudentRaised:
        return False
    for value, (w, up, config) in zip(values, expected):
        try:
            next_w, got = _unpack(fn, value, "", w.shape)
        except Fail:
            return False
        if not (_update_ok(next_w - w, up, w) and _same_config(got, config)):
            return False
    return True


def _hp(fn, config0):
    cfg = config0 or {}
    return {k: cfg.get(k, d) for k, d in DEFAULTS[fn].items()}


def _judge(fn, w0, grads, config0, next_ws, what, configs=None, ctx=None) -> None:
    """Each step's update next_w - w against the oracle's (errors do not compound).

    ``configs`` (the configs the student returned, step by step) and ``ctx`` (to call the
    student once more with every key given) only help to name the mistake
    (:func:`.diagnose.diagnose`)."""
    cfg = config0 or {}
    expected, _ = updates(fn, grads, _hp(fn, config0),
                          {k: cfg[k] for k in STATE[fn] if k in cfg})
    prev = [w0] + next_ws[:-1]
    got = [n - p for n, p in zip(next_ws, prev)]
    for k, (g, e) in enumerate(zip(got, expected)):
        atol = max(STEP_ATOL, 1e-15 * float(np.max(np.abs(prev[k]))))
        if not np.all(np.abs(g - e) <= atol + STEP_RTOL * np.abs(e)):
            probe_ = None if ctx is None else _prober(ctx, fn, w0, grads[0], config0)
            hint = diagnose(fn, got, prev, grads, config0, configs[0] if configs else None,
                            probe_) or \
                "follow the contract's formula step by step (docs/ex09_optim.md)"
            assert_close(g, e, fn=fn, what="the update next_w - w",
                         on=f"step {k + 1} of {what}, starting from {_describe(config0)}",
                         hint=hint, rtol=STEP_RTOL, atol=atol)


def _prober(ctx, fn, w0, dw, config0):
    """``probe(config)``: the student's first update from ``w0``, ``dw`` with ``config`` (a
    dict of the contract's keys, copied) in place of ``config0``; None when it crashed or
    returned something unusable."""
    def probe(config):
        try:
            next_w, _ = _unpack(fn, ctx.call(fn, w0.copy(), dw.copy(), _copy(config)), "",
                                w0.shape, dw)
        except (Fail, StudentRaised):
            return None
        return next_w - w0
    return probe


def _judge_state(fn, grads, config0, configs, what) -> None:
    """After every call the contract's state keys hold the oracle's quantities."""
    cfg = config0 or {}
    _, states = updates(fn, grads, _hp(fn, config0), {k: cfg[k] for k in STATE[fn] if k in cfg})
    for k, (config, want) in enumerate(zip(configs, states)):
        on = f"step {k + 1} of {what}"
        for key, value in want.items():
            if key not in config:
                raise Fail(f"{fn}: the returned config has no '{key}' after {on} (it has "
                           f"{sorted(config)}). Hint: store the state in config['{key}']")
            if key == "t":
                if config[key] != value:
                    hint = T_STARTS_AT_ONE if "t" not in cfg and k == 0 and \
                        config[key] == 2 else "t counts the steps taken (t = t + 1 on every call)"
                    raise Fail(f"{fn}: config['t'] is {config[key]!r} after {on}, expected "
                               f"{value}. Hint: {hint}")
                continue
            got = expect_array(config[key], fn=fn, what=f"config['{key}']", shape=value.shape)
            hint = f"config['{key}'] must hold the quantity the contract names"
            if key == "velocity" and np.allclose(got, -value, rtol=1e-8, atol=0):
                hint = ("your velocity has the opposite sign (v = momentum*v + lr*dw, then "
                        "w - v): the weights agree, but the contract's velocity is "
                        "v = momentum*v - learning_rate*dw, then next_w = w + v")
            elif key == "velocity" and np.allclose(got, -value / _hp(fn, config0)[
                    "learning_rate"], rtol=1e-8, atol=0):
                hint = ("config['velocity'] holds torch's buffer b = momentum*b + dw; the "
                        "contract's velocity is v = momentum*v - learning_rate*dw")
            assert_close(got, value, fn=fn, what=f"config['{key}']", on=on, hint=hint,
                         rtol=STATE_RTOL, atol=1e-300)


# -- checks ------------------------------------------------------------------------------------
def probe(ctx) -> None:
    for fn in FNS:
        w = ctx.rng.normal(size=(2, 3))
        dw = ctx.rng.normal(size=(2, 3))
        _unpack(fn, ctx.call(fn, w, dw, None), "config=None", w.shape, dw)


def check_defaults(ctx) -> None:
    """config None (passed, and left out) for each rule: the contract's defaults in the returned
    config, the first update and the state after it."""
    for fn in FNS:
        cases = []
        for positional in (False, True):
            w = ctx.rng.normal(size=(3, 5))
            cases.append((positional, w, _gradients(ctx.rng, w.shape, 1)[0]))
        values = ctx.map(fn, [((w, dw, None) if positional else (w, dw), {})
                              for positional, w, dw in cases])
        for (positional, w, dw), value in zip(cases, values):
            call = f"{fn}(w, dw{', None' if positional else ''})"
            next_w, config = _unpack(fn, value, call, w.shape, dw)
            _judge(fn, w, [dw], None, [next_w], f"1 ({call})", [config], ctx)
            for key, want in DEFAULTS[fn].items():
                got = config.get(key)
                if not isinstance(got, (int, float)) or abs(float(got) - want) > 1e-12 * want:
                    raise Fail(f"{fn}: config['{key}'] returned by {call} is {got!r}; the "
                               f"default is {want:g} (config.setdefault('{key}', {want:g}))")
            _judge_state(fn, [dw], None, [config], f"1 ({call})")


def check_config_honoured(ctx) -> None:
    """A partial config keeps its values and gets the missing defaults; given state continues."""
    shape = (4, 5)
    partials = {"sgd_momentum_update": ({"momentum": 0.5}, {"learning_rate": 0.05}),
                "rmsprop_update": ({"decay_rate": 0.9, "epsilon": 1e-4}, {"learning_rate": 0.002}),
                "adam_update": ({"beta1": 0.8, "learning_rate": 0.01},
                                {"beta2": 0.99, "epsilon": 1e-3})}
    for fn, options in partials.items():
        runs = []
        for partial in options:
            prior = _gradients(ctx.rng, shape, 3)
            _, states = updates(fn, prior, _hp(fn, partial))
            for config0 in (partial, {**partial, **states[-1]}):
                runs.append((partial, config0, ctx.rng.normal(size=shape),
                             _gradients(ctx.rng, shape, 5)))
        chains = [(w0, grads, _copy(config0)) for _, config0, w0, grads in runs]
        if _fast(ctx, fn, chains):
            continue
        for (partial, config0, w0, grads), (next_ws, configs) in zip(runs, _run(ctx, fn, chains)):
            _judge(fn, w0, grads, config0, next_ws, "5", configs, ctx)
            for key in partial:
                if configs[-1].get(key) != partial[key]:
                    raise Fail(f"{fn} was given {_describe(partial)} and returned config['{key}']"
                               f" = {configs[-1].get(key)!r}: keep the caller's values")


def _many(ctx, fn, configs) -> None:
    shape = (4, 6)
    runs = [(ctx.rng.normal(size=shape), _gradients(ctx.rng, shape, STEPS), config0)
            for config0 in configs]
    chains = [(w0, grads, _copy(config0)) for w0, grads, config0 in runs]
    if _fast(ctx, fn, chains):
        return
    for (w0, grads, config0), (next_ws, configs) in zip(runs, _run(ctx, fn, chains)):
        _judge(fn, w0, grads, config0, next_ws, f"{STEPS}", configs, ctx)


def check_sgd_momentum_many_steps(ctx) -> None:
    """60 steps with the defaults and with other settings against torch.optim.SGD(momentum)."""
    _many(ctx, "sgd_momentum_update", (None, {"learning_rate": 0.1, "momentum": 0.5}))


def check_rmsprop_many_steps(ctx) -> None:
    """60 steps with the defaults and large epsilon against torch.optim.RMSprop."""
    _many(ctx, "rmsprop_update", (None, {"learning_rate": 0.05, "epsilon": 0.1,
                                         "decay_rate": 0.9}))


def check_adam_many_steps(ctx) -> None:
    """60 steps with the defaults and other settings against torch.optim.Adam."""
    _many(ctx, "adam_update", (None, {"learning_rate": 0.01, "beta1": 0.5, "beta2": 0.9,
                                      "epsilon": 0.1}))


def check_adam_first_step(ctx) -> None:
    """Adam's first step: m_hat = dw, v_hat = dw**2, so next_w - w = -lr*dw/(|dw| + eps)."""
    w = ctx.rng.normal(size=(3, 5))
    dw = _gradients(ctx.rng, w.shape, 1, scales=(1e-6, 1e-2, 1.0, 100.0, 1e4))[0]
    next_w, config = _unpack("adam_update", ctx.call("adam_update", w, dw, None), "step 1",
                             w.shape, dw)
    _judge("adam_update", w, [dw], None, [next_w], "1 (the bias-corrected first step)",
           [config], ctx)


def check_state(ctx) -> None:
    """After every call, config holds velocity; cache; m, v and t as the contract names them."""
    for fn in FNS:
        grads = _gradients(ctx.rng, (3, 4), 20)
        config0 = {"learning_rate": 0.03}
        chain = (ctx.rng.normal(size=(3, 4)), grads, dict(config0))
        if _fast(ctx, fn, [chain]):
            continue
        ((_, configs),) = _run(ctx, fn, [chain])
        _judge_state(fn, grads, config0, configs, "20")


def check_inputs_untouched(ctx) -> None:
    """w and dw are not changed in place (config may be: it is the optimizer's state); every
    rule that changes them is named."""
    found, hint = Findings(), []
    for fn in FNS:
        w, dw = ctx.rng.normal(size=(3, 4)), ctx.rng.normal(size=(3, 4))
        with found.judge(fn):
            _, (args, kwargs) = ctx.call_with_inputs(fn, w.copy(), dw.copy(), None)
            try:
                assert_unchanged({"w": w, "dw": dw}, args, kwargs, fn=fn,
                                 names=("w", "dw", "config"))
            except Fail as exc:
                text, _, tail = str(exc).partition(". Hint: ")
                hint = hint or [tail]
                raise Fail(text) from None
    if found.messages:
        found.messages[-1] += ". Hint: " + hint[0]
    found.done()
