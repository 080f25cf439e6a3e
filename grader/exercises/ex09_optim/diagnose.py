"""Naming the mistake behind a wrong sequence of updates of ex09 (used by :mod:`.checks`).

A *hypothesis* is the oracle of :func:`.oracles.updates` run with one mistake: a flag of
:data:`.oracles.MISTAKES`, a wrong default (:data:`.oracles.WRONG_DEFAULTS`), a given value
ignored, or Adam's step count starting at 1 instead of 0. Every hypothesis whose whole sequence
of updates matches the student's is a candidate. Some are indistinguishable from the updates
alone (with config None and momentum 0.9, a default learning_rate of 1e-3 gives the same steps
as the gradient scaled by 1 - momentum at 1e-2; Adam's t starting at 1 gives the same steps as
the power t + 1), so a candidate is dropped when what the student returned contradicts it:

* a hyperparameter the caller did not give, which the student stored in the returned config
  with another value than the candidate uses;
* Adam's t after the first step, for the two candidates about where t starts (t + 1 gives
  state t + 1 after a fresh first step, a default of 1 gives 2).

When both a default and another mistake remain, one more call (``probe``) gives the student
every key of the contract explicitly: if that step is right the default was the cause, and
otherwise it was not. What still remains is named together ("one of these"); nothing is named
when every candidate was contradicted.
"""
from __future__ import annotations

import numpy as np

from grader.exercises.ex09_optim.oracles import DEFAULTS, MISTAKES, STATE, WRONG_DEFAULTS, \
    updates

#: Hint of Adam's step count starting at 1 (the first step then uses t = 2).
T_STARTS_AT_ONE = ("t starts at 1 when config has no 't': the contract's t starts at 0 "
                   "(config.setdefault('t', 0)) and is incremented before use, so the first step "
                   "uses t = 1; starting at 1 and incrementing makes the first step t = 2")


def _tries(fn: str, cfg: dict, hp: dict, state0: dict) -> list[dict]:
    """The hypotheses, in the order they are reported: dicts with ``kw`` (flags for
    :func:`updates`, with optional ``hp`` and ``state0``), ``hint``, ``default`` (True when the
    cause is a default: a :meth:`probe` with every key given then steps right) and ``t1`` (the
    t the student's config holds after the first step under this hypothesis, or None when the
    hypothesis says nothing of it)."""
    fresh_t = "t" not in state0
    tries = []
    for name, kw, hint in MISTAKES[fn]:
        if fn == "adam_update" and name == "wrong power" and fresh_t:
            tries.append(dict(kw={"state0": {**state0, "t": 1}}, hint=T_STARTS_AT_ONE,
                              default=True, t1=2))
        tries.append(dict(kw=dict(kw), hint=hint, default=False,
                          t1=state0.get("t", 0) + 1 if name == "wrong power" else None))
    for key, values in WRONG_DEFAULTS[fn].items():
        if key in cfg:
            tries.append(dict(kw={"hp": {**hp, key: DEFAULTS[fn][key]}}, default=False, t1=None,
                              hint=f"config['{key}'] = {cfg[key]:g} is ignored: you always use "
                                   f"the default {DEFAULTS[fn][key]:g}; fill in a default only "
                                   "when the key is missing (config.setdefault)"))
        else:
            tries += [dict(kw={"hp": {**hp, key: v}}, default=True, t1=None,
                           hint=f"the default {key} is {DEFAULTS[fn][key]:g} (you used {v:g})")
                      for v in values]
    if fn == "adam_update" and state0.get("t"):
        tries.append(dict(kw={"state0": {**state0, "t": 0}}, default=False, t1=None,
                          hint=f"the bias correction restarts from t = 1 although config['t'] = "
                               f"{state0['t']} was given: use beta1**t and beta2**t with t = "
                               "config['t'] + 1, not a step count (or running powers) of your own"))
    return tries


def _contradicted(fn: str, try_: dict, cfg: dict, hp: dict, first_config) -> bool:
    """What the student returned after the first step contradicts hypothesis ``try_``."""
    if not isinstance(first_config, dict):
        return False
    used = try_["kw"].get("hp", hp)
    for key in DEFAULTS[fn]:
        got = first_config.get(key)
        if key in cfg or isinstance(got, bool) or not isinstance(got, (int, float)):
            continue
        if abs(float(got) - used[key]) > 1e-12 * abs(used[key]):
            return True
    got_t = first_config.get("t")
    return try_["t1"] is not None and isinstance(got_t, int) and not isinstance(got_t, bool) \
        and got_t != try_["t1"]


def diagnose(fn, got, prev, grads, config0, first_config=None, probe=None) -> str:
    """The hint of the mistake behind the student's updates, or "" when none fits.

    Args:
        fn: the rule.
        got: the student's updates next_w - w, one per step (K float64 arrays).
        prev: the weights each update was applied to (for the tolerance).
        grads: the gradients of the steps (at least K).
        config0: the config the run started from (None or a dict).
        first_config: the config the student returned after the first step, or None.
        probe: None, or a callable ``probe(config) -> update | None``: the student's first
            update when the run's first call gets ``config`` instead (None when it crashed).
    """
    cfg = config0 or {}
    hp = {k: cfg.get(k, d) for k, d in DEFAULTS[fn].items()}
    state0 = {k: cfg[k] for k in STATE[fn] if k in cfg}
    fits = []
    for try_ in _tries(fn, cfg, hp, state0):
        kw = dict(try_["kw"])
        ups, _ = updates(fn, grads[:len(got)], kw.pop("hp", hp), kw.pop("state0", state0), **kw)
        if all(np.allclose(g, u, rtol=1e-5, atol=1e-12 + 1e-13 * float(np.max(np.abs(p))),
                           equal_nan=True) for g, u, p in zip(got, ups, prev)):
            fits.append(try_)
    fits = [t for t in fits if not _contradicted(fn, t, cfg, hp, first_config)]
    if probe is not None and len({t["default"] for t in fits}) == 2:
        explicit = {**hp, **state0, **({"t": 0} if fn == "adam_update" and "t" not in state0
                                       else {})}
        step = probe(explicit)
        if step is not None:
            want = updates(fn, grads[:1], hp, state0)[0][0]
            right = bool(np.allclose(step, want, rtol=1e-6, atol=1e-12 + 1e-15 * float(
                np.max(np.abs(prev[0])))))
            fits = [t for t in fits if t["default"] == right]
    hints = list(dict.fromkeys(t["hint"] for t in fits))
    if len(hints) <= 1:
        return hints[0] if hints else ""
    return "what was observed fits several causes: " + "; or ".join(
        f"({i}) {h}" for i, h in enumerate(hints, 1))
