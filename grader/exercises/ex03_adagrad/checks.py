"""Checks of ex03 (the exercise is declared in ``__init__``; see its docstring)."""
from __future__ import annotations

import numpy as np

from grader.checks.common import assert_unchanged, forbidden_check, signature_check
from grader.checks.compare import assert_close, describe_shape, expect_array, expect_tuple
from grader.spec import Check, Exercise, Fail, Function

FN = "adagrad_update"
#: The contract's defaults.
DEFAULT_LR = 1e-2
DEFAULT_EPS = 1e-10
#: Steps in the long runs (the contract: "over many steps").
STEPS = 50
#: Tolerances on the update ``next_w - w`` (relative; the absolute floor covers the rounding of
#: ``w - step`` and the grader's subtraction for |w| ~ 1) and on the cache (a sum of squares
#: computed in the same order as the oracle, so it agrees to rounding).
STEP_RTOL, STEP_ATOL = 1e-6, 1e-12
CACHE_RTOL = 1e-10


# -- oracle -----------------------------------------------------------------------------------
def oracle_updates(grads, lr: float, eps: float, cache0=None) -> tuple[list, list]:
    """The Adagrad updates and caches for a sequence of gradients.

    Args:
        grads: list of float64 arrays of one shape (dw at steps 1..K).
        lr: learning rate. eps: epsilon, added to the square root of the cache.
        cache0: the cache before step 1 (default zeros).

    Returns:
        (updates, caches): lists of K arrays; ``updates[k] = next_w - w`` at step k+1 and
        ``caches[k]`` the cache after it (Duchi, Hazan & Singer, JMLR 2011; torch.optim.Adagrad).
    """
    return _updates(grads, lr, eps, cache0)


def _updates(grads, lr, eps, cache0=None, *, eps_inside=False, sqrt=True, accumulate=True,
             cache_after=False, sign=-1.0, square=True, eps_outside_division=False):
    """The oracle and, with a flag set, one of the usual mistakes (for diagnosis only)."""
    cache = np.zeros_like(grads[0]) if cache0 is None else np.array(cache0, dtype=np.float64)
    updates, caches = [], []
    with np.errstate(all="ignore"):
        for dw in grads:
            add = dw * dw if square else np.abs(dw)
            new_cache = cache + add if accumulate else add
            used = cache if cache_after else new_cache
            root = np.sqrt(used + eps) if eps_inside else (np.sqrt(used) if sqrt else used)
            if eps_outside_division:
                step = sign * lr * dw / root + eps
            else:
                step = sign * lr * dw / (root if eps_inside else root + eps)
            updates.append(step)
            caches.append(new_cache)
            cache = new_cache
    return updates, caches


def _mistakes(lr: float, eps: float, lr_given: bool, eps_given: bool):
    """(name, keyword arguments of :func:`_updates`, hint) for the usual mistakes."""
    out = [
        ("eps inside sqrt", dict(lr=lr, eps=eps, eps_inside=True),
         "epsilon is inside the square root: divide by np.sqrt(cache) + epsilon, not "
         "np.sqrt(cache + epsilon) (torch.optim.Adagrad adds eps after the square root)"),
        ("no sqrt", dict(lr=lr, eps=eps, sqrt=False),
         "you divide by cache + epsilon: take the square root of the cache first"),
        ("not accumulated", dict(lr=lr, eps=eps, accumulate=False),
         "the cache does not carry over between calls: each step behaves as if the cache held "
         "only the current dw**2. Accumulate (cache = cache + dw**2), store it in "
         "config['cache'] and return that config"),
        ("cache after step", dict(lr=lr, eps=eps, cache_after=True),
         "the step uses the cache from before adding dw**2: update the cache first, then divide "
         "by its square root"),
        ("ascent", dict(lr=lr, eps=eps, sign=1.0),
         "the step goes uphill: next_w = w - learning_rate * dw / (...), with a minus"),
        ("abs", dict(lr=lr, eps=eps, square=False),
         "the cache accumulates |dw| instead of dw**2"),
        ("eps outside division", dict(lr=lr, eps=eps, eps_outside_division=True),
         "epsilon is added to the step instead of to the denominator: write "
         "dw / (np.sqrt(cache) + epsilon) with the parentheses"),
    ]
    if not eps_given:
        out.append(("default eps 1e-8", dict(lr=lr, eps=1e-8),
                    "the default epsilon is 1e-10 (you used 1e-8, Adam's default)"))
        out.append(("default eps 1e-7", dict(lr=lr, eps=1e-7),
                    "the default epsilon is 1e-10 (you used 1e-7)"))
    else:
        out.append(("eps ignored", dict(lr=lr, eps=DEFAULT_EPS),
                    "the epsilon in config is ignored: you always use 1e-10. Fill in a default "
                    "only when the key is missing (config.setdefault('epsilon', 1e-10))"))
    if not lr_given:
        out.append(("default lr 1e-3", dict(lr=1e-3, eps=eps),
                    "the default learning_rate is 1e-2 (you used 1e-3)"))
    else:
        out.append(("lr ignored", dict(lr=DEFAULT_LR, eps=eps),
                    "the learning_rate in config is ignored: you always use 1e-2. Fill in a "
                    "default only when the key is missing (config.setdefault('learning_rate', "
                    "1e-2))"))
    return out


def _diagnose(got_updates, prev_ws, grads, lr, eps, cache0, lr_given, eps_given) -> str:
    """The hint of the mistake whose sequence of updates matches the student's, or "".

    The absolute tolerance grows with |w|: after a huge wrong step, ``next_w - w`` keeps only
    about 16 significant digits of |w|.
    """
    n = len(got_updates)
    for _name, kw, hint in _mistakes(lr, eps, lr_given, eps_given):
        upd, _ = _updates(grads[:n], cache0=cache0, **kw)
        if all(g.shape == u.shape and np.allclose(
                g, u, rtol=1e-5, atol=1e-12 + 1e-13 * float(np.max(np.abs(p), initial=0.0)),
                equal_nan=True) for g, u, p in zip(got_updates, upd, prev_ws)):
            return hint
    return ""


# -- inputs -----------------------------------------------------------------------------------
def _gradients(rng, shape, steps, scales=(1e-9, 1e-3, 0.1, 1.0, 10.0, 300.0), sparsity=0.3):
    """``steps`` gradients of ``shape``: each last-axis column has its own scale (Adagrad's point:
    per-parameter step sizes), about ``sparsity`` of the entries are exactly 0 at every step, and
    the first step has its last row all zeros (parameters whose cache is still 0 afterwards)."""
    col = np.resize(np.asarray(scales, dtype=np.float64), shape[-1])
    grads = []
    for k in range(steps):
        g = rng.normal(size=shape) * col
        g[rng.random(shape) < sparsity] = 0.0
        if k == 0:
            g.reshape(-1, shape[-1])[-1] = 0.0
        grads.append(g)
    return grads


def _describe(config) -> str:
    if config is None:
        return "config=None"
    parts = []
    for k, v in config.items():
        parts.append(f"'{k}': array{describe_shape(v)}" if isinstance(v, np.ndarray) else f"'{k}': {v!r}")
    return "config={" + ", ".join(parts) + "}"


def _unpack(value, step: str, w_shape) -> tuple[np.ndarray, dict]:
    """``(next_w, config)`` out of a student's return value, with its type, shape and dtype checked."""
    next_w, config = expect_tuple(value, 2, fn=FN, names="(next_w, config)")
    got = _array(next_w, w_shape, step)
    if not isinstance(config, dict):
        kind = "None (a missing `return config`?)" if config is None else type(config).__name__
        if hasattr(config, "type"):
            kind = f"a {config.type}"
        raise Fail(f"{FN} returned {kind} as config ({step}); return the state dict, with "
                   "'learning_rate', 'epsilon' and the updated 'cache', so the next call can "
                   "continue from it")
    return got, config


def _array(value, shape, step: str) -> np.ndarray:
    try:
        return expect_array(value, fn=FN, what=f"next_w ({step})", shape=shape)
    except Fail as exc:
        if "contains" in str(exc):
            raise Fail(str(exc).split(". Hint:")[0] + ". Hint: a division by zero where the "
                       "cache is still 0 (dw = 0 there): the denominator must be "
                       "np.sqrt(cache) + epsilon, in parentheses; or the square root of a "
                       "negative cache (accumulate dw**2, not dw)") from None
        raise


def _run(ctx, w0, grads, config0, *, positional_none: bool = True):
    """Feed the student's ``next_w`` and ``config`` back for ``len(grads)`` steps.

    Returns:
        (next_ws, configs): the student's outputs step by step.
    """
    w, config = w0, config0
    next_ws, configs = [], []
    for k, dw in enumerate(grads):
        where = f"step {k + 1} of {len(grads)}, starting from {_describe(config0)}"
        if k == 0 and config0 is None and not positional_none:
            value = ctx.call(FN, w, dw)
        else:
            value = ctx.call(FN, w, dw, config)
        w, config = _unpack(value, where, w0.shape)
        next_ws.append(w)
        configs.append(config)
    return next_ws, configs


def _judge_updates(w0, grads, config0, next_ws, *, what: str) -> None:
    """Compare the student's updates, step by step, with the oracle's (see the module doc)."""
    cfg = config0 or {}
    lr = cfg.get("learning_rate", DEFAULT_LR)
    eps = cfg.get("epsilon", DEFAULT_EPS)
    cache0 = cfg.get("cache")
    expected, _ = oracle_updates(grads, lr, eps, cache0)
    prev = [w0] + next_ws[:-1]
    got = [n - p for n, p in zip(next_ws, prev)]
    for k, (g, e) in enumerate(zip(got, expected)):
        atol = max(STEP_ATOL, 1e-15 * float(np.max(np.abs(prev[k]), initial=0.0)))
        bad = ~(np.abs(g - e) <= atol + STEP_RTOL * np.abs(e))
        if bad.any():
            hint = _diagnose(got, prev, grads, lr, eps, cache0, "learning_rate" in cfg,
                             "epsilon" in cfg)
            where = f"step {k + 1} of {what}" if len(grads) > 1 else what
            assert_close(g, e, fn=FN, what="the update next_w - w",
                         on=f"{where}, starting from {_describe(config0)}",
                         hint=hint or "next_w = w - learning_rate * dw / (np.sqrt(cache) + "
                                      "epsilon), with cache = cache + dw**2 first",
                         rtol=STEP_RTOL, atol=atol)


# -- checks ----------------------------------------------------------------------------------
def probe(ctx) -> None:
    w = ctx.rng.normal(size=(2, 3))
    _unpack(ctx.call(FN, w, ctx.rng.normal(size=(2, 3)), None), "config=None", w.shape)


def check_defaults(ctx) -> None:
    """config None (passed, and left out): the defaults lr 1e-2, eps 1e-10, cache zeros; the
    returned config holds them and cache = dw**2."""
    for k, shape in enumerate([(3, 4), (6,), (2, 3, 2)]):
        w = ctx.rng.normal(size=shape)
        dw = _gradients(ctx.rng, shape, 1, scales=(1e-9, 1.0, 1e3, 1e-2), sparsity=0.0)[0]
        positional = k != 0
        value = ctx.call(FN, w, dw, None) if positional else ctx.call(FN, w, dw)
        call = f"{FN}(w, dw{', None' if positional else ''}) with w of shape {describe_shape(w)}"
        next_w, config = _unpack(value, call, shape)
        _judge_updates(w, [dw], None, [next_w], what=f"the first call {call}")
        for key, want in (("learning_rate", DEFAULT_LR), ("epsilon", DEFAULT_EPS)):
            if key not in config:
                raise Fail(f"{FN}: the config returned by {call} has no '{key}' (it has "
                           f"{sorted(config)}). Hint: when config is None start from {{}} and "
                           f"fill in the defaults with config.setdefault('{key}', {want:g})")
            got = config[key]
            if not isinstance(got, (int, float)) or abs(float(got) - want) > 1e-12 * want:
                raise Fail(f"{FN}: config['{key}'] returned by {call} is {got!r}; the default "
                           f"is {want:g}")
        if "cache" not in config:
            raise Fail(f"{FN}: the config returned by {call} has no 'cache'. Hint: store the "
                       "running sum of squared gradients in config['cache'] so the next call "
                       "can continue from it")
        cache = expect_array(config["cache"], fn=FN, what="config['cache']", shape=shape)
        assert_close(cache, dw * dw, fn=FN, what="config['cache']", on=call,
                     hint="starting from a cache of zeros, after one step the cache is dw**2",
                     rtol=CACHE_RTOL, atol=0.0)


def check_config_honoured(ctx) -> None:
    """A partial config (some keys missing, as CS231n's Solver passes it) gets the missing
    defaults and keeps the given values; a given cache is continued."""
    shape = (4, 5)
    prior = _gradients(ctx.rng, shape, 3)
    given_cache = sum(g * g for g in prior)
    for config in ({"learning_rate": 0.05}, {"epsilon": 1e-3}, {"learning_rate": 0.2, "epsilon": 1e-4},
                   {"learning_rate": 0.03, "epsilon": 1e-6, "cache": given_cache}):
        w = ctx.rng.normal(size=shape)
        dw = _gradients(ctx.rng, shape, 1, scales=(1e-4, 1e-2, 1.0, 5.0))[0]
        next_w, returned = _unpack(ctx.call(FN, w, dw, dict(config)), _describe(config), shape)
        if "cache" in config:
            cfg = config
            try:
                _judge_updates(w, [dw], cfg, [next_w], what="a call given the cache of 3 earlier steps")
            except Fail as exc:
                e, _ = oracle_updates([dw], cfg["learning_rate"], cfg["epsilon"])
                if np.allclose(next_w - w, e[0], rtol=1e-5, atol=1e-12):
                    raise Fail(f"{FN} ignores the cache it was given: with {_describe(config)} "
                               "your step is the one of a fresh cache of zeros. Hint: only fill "
                               "in the cache when the key is missing (config.setdefault('cache', "
                               "np.zeros_like(w))), never reset it") from None
                raise exc
        else:
            _judge_updates(w, [dw], config, [next_w], what="a call")
        for key, want in config.items():
            if key == "cache":
                continue
            if key not in returned or not isinstance(returned[key], (int, float)) \
                    or abs(float(returned[key]) - want) > 1e-12 * want:
                raise Fail(f"{FN} was given {_describe(config)} and returned config['{key}'] = "
                           f"{returned.get(key)!r}: keep the caller's values; fill in only the "
                           "missing keys (config.setdefault)")


def check_many_steps(ctx) -> None:
    """50 steps with the defaults (config None on the first call) and 50 with learning_rate 0.1,
    the state carried by the returned config, against the oracle step by step."""
    shape = (4, 6)
    for config0, what in ((None, "50 steps with the default settings"),
                          ({"learning_rate": 0.1}, "50 steps with learning_rate 0.1")):
        w0 = ctx.rng.normal(size=shape)
        grads = _gradients(ctx.rng, shape, STEPS)
        next_ws, _ = _run(ctx, w0, grads, None if config0 is None else dict(config0),
                          positional_none=False)
        _judge_updates(w0, grads, config0, next_ws, what=what)


def check_large_epsilon(ctx) -> None:
    """Large epsilons (1 and 0.1) on gradients of order 1: epsilon inside the square root
    (sqrt(cache + eps)) differs from sqrt(cache) + eps by far more than the tolerance here."""
    shape = (3, 5)
    for config0, steps in (({"learning_rate": 0.1, "epsilon": 1.0}, STEPS),
                           ({"learning_rate": 0.5, "epsilon": 0.1}, 20)):
        w0 = ctx.rng.normal(size=shape)
        grads = _gradients(ctx.rng, shape, steps, scales=(0.05, 0.3, 1.0, 2.0), sparsity=0.2)
        next_ws, _ = _run(ctx, w0, grads, dict(config0))
        _judge_updates(w0, grads, config0, next_ws,
                       what=f"{steps} steps with epsilon {config0['epsilon']:g}")


def check_cache_state(ctx) -> None:
    """After every step the returned config['cache'] is the sum of the squared gradients so far,
    and learning_rate / epsilon keep their values."""
    shape = (5, 3)
    config0 = {"learning_rate": 0.05, "epsilon": 1e-6}
    w0 = ctx.rng.normal(size=shape)
    grads = _gradients(ctx.rng, shape, 30, scales=(1e-5, 0.5, 20.0))
    _, configs = _run(ctx, w0, grads, dict(config0))
    _, caches = oracle_updates(grads, config0["learning_rate"], config0["epsilon"])
    for k, (config, want) in enumerate(zip(configs, caches)):
        on = f"step {k + 1} of 30, starting from {_describe(config0)}"
        for key, value in config0.items():
            if not isinstance(config.get(key), (int, float)) or float(config[key]) != value:
                raise Fail(f"{FN}: config['{key}'] is {config.get(key)!r} after {on}; it must "
                           f"stay {value:g} (only the cache changes between steps)")
        if "cache" not in config:
            raise Fail(f"{FN}: the returned config has no 'cache' after {on}")
        got = expect_array(config["cache"], fn=FN, what="config['cache']", shape=shape)
        hint = "config['cache'] must be the running sum of dw**2 over all steps so far"
        if k > 0 and np.allclose(got, grads[k] ** 2, rtol=1e-8, atol=0):
            hint = ("config['cache'] holds only the last dw**2: add to the cache you were given "
                    "(cache = config['cache'] + dw**2) and store the sum back in config")
        elif k > 0 and np.allclose(got, caches[k - 1], rtol=1e-8, atol=0):
            hint = ("config['cache'] is the cache from before this step: store the updated cache "
                    "in the config you return")
        elif np.all(got == 0):
            hint = "config['cache'] stays zero: store the updated cache in the config you return"
        assert_close(got, want, fn=FN, what="config['cache']", on=on, hint=hint,
                     rtol=CACHE_RTOL, atol=0.0)


def check_inputs_untouched(ctx) -> None:
    """w and dw are not changed in place (config may be: it is the optimizer's state)."""
    shape = (3, 4)
    cache = ctx.rng.random(shape)
    for config in (None, {"learning_rate": 0.1, "epsilon": 1e-8, "cache": cache}):
        w, dw = ctx.rng.normal(size=shape), ctx.rng.normal(size=shape)
        _, (args, kwargs) = ctx.call_with_inputs(FN, w.copy(), dw.copy(), config)
        assert_unchanged({"w": w, "dw": dw}, args, kwargs, fn=FN, names=("w", "dw", "config"))
