"""The oracles of ex09 and the usual mistakes, as numpy re-statements of ``torch.optim``.

Each oracle is ``torch.optim``'s single-tensor step written in numpy float64 (torch/optim/sgd.py
``_single_tensor_sgd``, rmsprop.py ``_single_tensor_rmsprop``, adam.py ``_single_tensor_adam``);
``autotests/test_ex09_optim.py`` proves them equal to torch over 60 steps. They are restated here
because a numpy exercise must not pay for ``import torch``. Torch keeps the momentum buffer
``b = momentum*b + dw`` and steps ``w - lr*b``; the contract's velocity is ``v = -lr*b``, which
equals ``momentum*v - lr*dw`` at a constant learning rate, so the weights agree.

The update rules do not depend on ``w``: :func:`updates` returns each step's ``next_w - w`` and
the state the contract names after it. A mistake is the oracle with one keyword set (for
diagnosis only); :data:`MISTAKES` names them and says what to do instead.
"""
from __future__ import annotations

import numpy as np

#: The contract's defaults per rule.
DEFAULTS = {
    "sgd_momentum_update": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop_update": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam_update": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
#: The state keys per rule (arrays shaped like w, and Adam's step count t).
STATE = {"sgd_momentum_update": ("velocity",), "rmsprop_update": ("cache",),
         "adam_update": ("m", "v", "t")}


def updates(fn: str, grads, hp: dict, state0: dict | None = None, **mistake):
    """The updates and states of rule ``fn`` for a sequence of gradients.

    Args:
        fn: "sgd_momentum_update", "rmsprop_update" or "adam_update".
        grads: list of K float64 arrays of one shape (dw at steps 1..K).
        hp: the hyperparameters (all keys of ``DEFAULTS[fn]``).
        state0: the state before step 1 (missing keys: zeros, t = 0).
        **mistake: one of the flags of the rule's ``_step`` (diagnosis only).

    Returns:
        (updates, states): ``updates[k] = next_w - w`` at step k+1 (float64 arrays) and
        ``states[k]`` the dict of the contract's state keys after it.
    """
    shape = np.shape(grads[0])
    state = {k: np.zeros(shape) for k in STATE[fn] if k != "t"}
    if fn == "adam_update":
        state["t"] = 0
    for k, v in (state0 or {}).items():
        state[k] = v if k == "t" else np.array(v, dtype=np.float64)
    step = _STEPS[fn]
    ups, states = [], []
    with np.errstate(all="ignore"):
        for dw in grads:
            up, state = step(dw, hp, state, **mistake)
            ups.append(up)
            states.append(state)
    return ups, states


def _sgd(dw, hp, s, *, plus=False, carried=True, after=False, nesterov=False, damped=False):
    """torch.optim.SGD(momentum), dampening 0: b = mu*b + dw; w -= lr*b (v = -lr*b)."""
    lr, mu = hp["learning_rate"], hp["momentum"]
    prev = s["velocity"] if carried else np.zeros_like(dw)
    if plus:                                  # v = mu*v + lr*dw; w + v (uphill)
        v = mu * prev + lr * dw
    elif damped:                              # exponentially weighted average of dw
        v = mu * prev - (1 - mu) * lr * dw
    else:
        v = mu * prev - lr * dw
    up = prev if after else (-mu * prev + (1 + mu) * v if nesterov else v)
    return up, {"velocity": v}


def _rmsprop(dw, hp, s, *, eps_inside=False, sqrt=True, carried=True, square=True,
             square_scaled=False, no_one_minus=False, swapped=False, after=False):
    """torch.optim.RMSprop(alpha=decay_rate), momentum 0, centered False."""
    lr, rho, eps = hp["learning_rate"], hp["decay_rate"], hp["epsilon"]
    prev = s["cache"] if carried else np.zeros_like(dw)
    g2 = dw * dw if square else dw
    if square_scaled:
        new = rho * prev + ((1 - rho) * dw) ** 2
    elif no_one_minus:
        new = rho * prev + g2
    elif swapped:
        new = (1 - rho) * prev + rho * g2
    else:
        new = rho * prev + (1 - rho) * g2
    used = prev if after else new
    denom = np.sqrt(used + eps) if eps_inside else (np.sqrt(used) if sqrt else used) + eps
    return -lr * dw / denom, {"cache": new}


def _adam(dw, hp, s, *, t_after=False, t_plus=0, t_fixed=None, correct=True, eps_inside=False,
          sqrt=True, swapped=False, carried=True, eps_on_v=False):
    """torch.optim.Adam, amsgrad False: m.lerp_(g, 1-b1); v = b2*v + (1-b2)*g*g; bias-corrected."""
    lr, b1, b2, eps = hp["learning_rate"], hp["beta1"], hp["beta2"], hp["epsilon"]
    if swapped:
        b1, b2 = b2, b1
    m0, v0 = (s["m"], s["v"]) if carried else (np.zeros_like(dw), np.zeros_like(dw))
    t = s["t"] + 1 if carried else 1
    m = b1 * m0 + (1 - b1) * dw
    v = b2 * v0 + (1 - b2) * dw * dw
    tt = t_fixed if t_fixed is not None else (t - 1 if t_after else t + t_plus)
    c1, c2 = (1 - b1 ** tt, 1 - b2 ** tt) if correct else (1.0, 1.0)
    if eps_on_v:                              # Kingma & Ba's "efficient" form, eps on sqrt(v)
        return -lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + eps), {"m": m, "v": v, "t": t}
    vh = v / c2
    root = np.sqrt(vh + eps) if eps_inside else (np.sqrt(vh) if sqrt else vh) + eps
    return -lr * (m / c1) / root, {"m": m, "v": v, "t": t}


_STEPS = {"sgd_momentum_update": _sgd, "rmsprop_update": _rmsprop, "adam_update": _adam}

#: (name, mistake flags, hint) per rule: the usual mistakes, in the order they are tried.
MISTAKES = {
    "sgd_momentum_update": (
        ("velocity sign, w + v", dict(plus=True),
         "the step goes uphill: with v = momentum*v + learning_rate*dw the step is w - v. The "
         "contract's convention is v = momentum*v - learning_rate*dw, then next_w = w + v"),
        ("velocity not carried", dict(carried=False),
         "every step behaves as if the velocity were zeros: the velocity does not carry over "
         "between calls. Start from config['velocity'] and store the new one back in config"),
        ("old velocity", dict(after=True),
         "the step uses the velocity from before this update: update v first, then "
         "next_w = w + v"),
        ("nesterov", dict(nesterov=True),
         "this is Nesterov's momentum (w - momentum*v_prev + (1 + momentum)*v); the exercise "
         "asks for the classical momentum step next_w = w + v"),
        ("dampened", dict(damped=True),
         "the gradient is scaled by (1 - momentum): that is an exponentially weighted average "
         "(the Deep Learning Specialization's form); here v = momentum*v - learning_rate*dw"),
    ),
    "rmsprop_update": (
        ("eps inside sqrt", dict(eps_inside=True),
         "epsilon is inside the square root: divide by np.sqrt(cache) + epsilon, not "
         "np.sqrt(cache + epsilon) (torch.optim.RMSprop adds eps after the square root)"),
        ("no sqrt", dict(sqrt=False),
         "you divide by cache + epsilon: take the square root of the cache first"),
        ("decay on dw", dict(square_scaled=True),
         "(1 - decay_rate) is squared with dw: the cache adds (1 - decay_rate) * dw**2, not "
         "((1 - decay_rate) * dw)**2"),
        ("no (1 - decay)", dict(no_one_minus=True),
         "the cache adds dw**2 without the factor (1 - decay_rate)"),
        ("decay swapped", dict(swapped=True),
         "decay_rate and 1 - decay_rate are swapped: cache = decay_rate*cache + "
         "(1 - decay_rate)*dw**2 (the old cache keeps the weight decay_rate)"),
        ("cache not carried", dict(carried=False),
         "the cache does not carry over between calls: start from config['cache'] and store "
         "the new one back in config"),
        ("old cache", dict(after=True),
         "the step uses the cache from before this update: update the cache first"),
    ),
    "adam_update": (
        ("t after use", dict(t_after=True),
         "t is incremented after the bias correction: increment t first (t = t + 1), so the "
         "first step divides by 1 - beta1**1"),
        ("no bias correction", dict(correct=False),
         "no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t)"),
        ("wrong power", dict(t_plus=1),
         "the bias correction uses the power t + 1: after t = t + 1 use beta1**t and beta2**t"),
        ("t not carried", dict(t_fixed=1),
         "the bias correction always uses t = 1: t does not advance from call to call; "
         "increment t on every call and store the new t back in config['t']"),
        ("betas swapped", dict(swapped=True),
         "beta1 and beta2 are swapped: m (the mean of dw) decays with beta1 = 0.9, v (the mean "
         "of dw**2) with beta2 = 0.999"),
        ("eps inside sqrt", dict(eps_inside=True),
         "epsilon is inside the square root: divide by np.sqrt(v_hat) + epsilon"),
        ("no sqrt", dict(sqrt=False),
         "you divide by v_hat + epsilon: take the square root of v_hat first"),
        ("eps on sqrt(v)", dict(eps_on_v=True),
         "epsilon is added to np.sqrt(v), not to np.sqrt(v_hat) (the paper's 'efficient' form "
         "rescales epsilon); the contract and torch divide by np.sqrt(v_hat) + epsilon"),
        ("moments not carried", dict(carried=False),
         "m, v and t do not carry over between calls: start from config['m'], config['v'], "
         "config['t'] and store the new values back in config"),
    ),
}

#: Wrong defaults students pick (key -> values), used when the key was not given.
WRONG_DEFAULTS = {
    "sgd_momentum_update": {"momentum": (0.5, 0.99, 0.0), "learning_rate": (1e-3, 0.1)},
    "rmsprop_update": {"decay_rate": (0.9, 0.999), "epsilon": (1e-6, 1e-7, 1e-10),
                       "learning_rate": (1e-3,)},
    "adam_update": {"learning_rate": (1e-2,), "epsilon": (1e-7, 1e-6), "beta2": (0.99,)},
}
