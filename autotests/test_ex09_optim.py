"""ex09's oracles against torch.optim over 60 steps in float64, and the named mistakes.

The oracles (grader/exercises/ex09_optim/oracles.py) are numpy re-statements; here each is run
next to torch.optim.SGD(momentum), RMSprop (momentum 0, centered False) and Adam (amsgrad False)
on the same varying gradients, and every step's update and state must agree.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from grader.exercises.ex09_optim.checks import _gradients
from grader.exercises.ex09_optim.diagnose import T_STARTS_AT_ONE, diagnose
from grader.exercises.ex09_optim.oracles import DEFAULTS, MISTAKES, updates

STEPS = 60
CASES = [
    ("sgd_momentum_update", {}, lambda p, h: torch.optim.SGD(
        [p], lr=h["learning_rate"], momentum=h["momentum"])),
    ("sgd_momentum_update", {"learning_rate": 0.1, "momentum": 0.5}, None),
    ("rmsprop_update", {}, lambda p, h: torch.optim.RMSprop(
        [p], lr=h["learning_rate"], alpha=h["decay_rate"], eps=h["epsilon"], momentum=0,
        centered=False)),
    ("rmsprop_update", {"learning_rate": 0.05, "decay_rate": 0.9, "epsilon": 0.1}, None),
    ("adam_update", {}, lambda p, h: torch.optim.Adam(
        [p], lr=h["learning_rate"], betas=(h["beta1"], h["beta2"]), eps=h["epsilon"],
        amsgrad=False)),
    ("adam_update", {"learning_rate": 0.01, "beta1": 0.5, "beta2": 0.9, "epsilon": 0.1}, None),
]
_MAKE = {fn: make for fn, _, make in CASES if make}


@pytest.mark.parametrize("fn,given", [(fn, g) for fn, g, _ in CASES])
def test_oracle_equals_torch_optim_over_60_steps(fn, given):
    rng = np.random.default_rng(7)
    hp = {**DEFAULTS[fn], **given}
    grads = _gradients(rng, (4, 6), STEPS)
    w0 = rng.normal(size=(4, 6))
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = _MAKE[fn](p, hp)
    ups, states = updates(fn, grads, hp)
    w = w0.copy()
    for k, (g, up) in enumerate(zip(grads, ups)):
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        w = w + up
        np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=f"{fn} step {k + 1}")
    st = opt.state[p]
    if fn == "sgd_momentum_update":   # torch's buffer b relates to the contract's v = -lr*b
        np.testing.assert_allclose(states[-1]["velocity"],
                                   -hp["learning_rate"] * st["momentum_buffer"].numpy(), rtol=1e-12)
    elif fn == "rmsprop_update":
        np.testing.assert_allclose(states[-1]["cache"], st["square_avg"].numpy(), rtol=1e-12)
    else:
        np.testing.assert_allclose(states[-1]["m"], st["exp_avg"].numpy(), rtol=1e-12)
        np.testing.assert_allclose(states[-1]["v"], st["exp_avg_sq"].numpy(), rtol=1e-12)
        assert states[-1]["t"] == int(st["step"]) == STEPS


def test_adam_first_step_is_lr_dw_over_abs_dw():
    dw = np.array([1e-6, -3.0, 200.0])
    (up,), _ = updates("adam_update", [dw], DEFAULTS["adam_update"])
    np.testing.assert_allclose(up, -1e-3 * dw / (np.abs(dw) + 1e-8), rtol=1e-12)


@pytest.mark.parametrize("fn,name,kw", [(fn, n, kw) for fn, ms in MISTAKES.items()
                                        for n, kw, _ in ms])
def test_each_mistake_differs_from_the_oracle_and_is_named(fn, name, kw):
    """Every mistake changes the updates on the graded gradients, and the diagnosis names it
    (not an earlier mistake in the list) from its own sequence and the config it returns (the
    contract's defaults and the mistake's own state)."""
    rng = np.random.default_rng(3)
    grads = _gradients(rng, (4, 6), STEPS)
    hp = DEFAULTS[fn]
    good, _ = updates(fn, grads, hp)
    bad, states = updates(fn, grads, hp, **kw)
    assert not all(np.allclose(g, b, rtol=1e-5, atol=1e-12, equal_nan=True)
                   for g, b in zip(good, bad)), name
    prev = [np.zeros((4, 6))] * STEPS
    hint = diagnose(fn, bad, prev, grads, None, {**hp, **states[0]})
    assert hint == dict((n, h) for n, _, h in MISTAKES[fn])[name]


def _probe_giving(fn, grads, hp, **kw):
    """A probe that answers as a submission with mistake ``kw`` would when given every key."""
    return lambda config: updates(fn, grads[:1], hp, **kw)[0][0]


def test_causes_the_updates_cannot_tell_apart_are_told_apart_by_config_or_probe():
    """A default learning_rate of 1e-3 and the gradient scaled by 1 - momentum give the same
    steps at momentum 0.9 (issue 15, D3); Adam's t starting at 1 and the power t + 1 likewise
    (D4). The returned config, else one call with every key given, decides; without either
    both causes are named, never only the one the observation does not single out."""
    grads = _gradients(np.random.default_rng(5), (4, 6), 5)
    prev = [np.zeros((4, 6))] * 5
    fn, hp = "sgd_momentum_update", DEFAULTS["sgd_momentum_update"]
    low, _ = updates(fn, grads, {**hp, "learning_rate": 1e-3})
    damped = dict((n, h) for n, _, h in MISTAKES[fn])["dampened"]
    lr_hint = "the default learning_rate is 0.01 (you used 0.001)"
    assert diagnose(fn, low, prev, grads, None, {"learning_rate": 1e-3, "momentum": 0.9}) \
        == lr_hint
    assert diagnose(fn, low, prev, grads, None, {"learning_rate": 1e-2, "momentum": 0.9}) \
        == damped
    both = diagnose(fn, low, prev, grads, None, {})
    assert lr_hint in both and damped in both
    assert diagnose(fn, low, prev, grads, None, {}, _probe_giving(fn, grads, hp)) == lr_hint
    assert diagnose(fn, low, prev, grads, None, {},
                    _probe_giving(fn, grads, hp, damped=True)) == damped

    fn, hp = "adam_update", DEFAULTS["adam_update"]
    late, states = updates(fn, grads, hp, {"t": 1})
    power = dict((n, h) for n, _, h in MISTAKES[fn])["wrong power"]
    assert states[0]["t"] == 2
    assert diagnose(fn, late, prev, grads, None, {**hp, **states[0]}) == T_STARTS_AT_ONE
    assert diagnose(fn, late, prev, grads, None, {**hp, "t": 1}) == power
    assert diagnose(fn, late, prev, grads, None, {}, _probe_giving(fn, grads, hp)) \
        == T_STARTS_AT_ONE
    assert diagnose(fn, late, prev, grads, None, {},
                    _probe_giving(fn, grads, hp, t_plus=1)) == power
    both = diagnose(fn, late, prev, grads, None, None)
    assert T_STARTS_AT_ONE in both and power in both


def test_one_round_trip_for_the_contract_and_the_sequential_run_otherwise(tmp_path, monkeypatch):
    """The long runs of a submission that returns exactly the contract's state are judged in one
    round trip (issue 15's speed target); a submission with state keys of its own falls back to
    the sequential run, which judges it (adam_own_powers: right in its own runs, so
    adam_many_steps passes; wrong on a given state, so config_honoured fails)."""
    from grader.engine import Options, grade
    from grader.exercises import resolve
    from grader.exercises.ex09_optim import checks
    seen = []
    original = checks._fast

    def spy(ctx, fn, chains):
        seen.append((ctx.check.name, fn, original(ctx, fn, chains)))
        return seen[-1][2]
    monkeypatch.setattr(checks, "_fast", spy)
    root = Path(__file__).resolve().parent.parent
    res = grade([resolve("ex09")], root / "solutions", Options(seed=3, perf=False)).exercises[0]
    assert res.score == res.max_score and len(seen) == 9 and all(ok for _, _, ok in seen)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "ex09_optim.py").write_text(
        (root / "autotests" / "submissions" / "ex09" / "adam_own_powers.py").read_text())
    seen.clear()
    res = grade([resolve("ex09")], tmp_path, Options(seed=3, perf=False)).exercises[0]
    assert {(name, ok) for name, fn, ok in seen if fn == "adam_update"} == {
        ("config_honoured", False), ("adam_many_steps", False), ("state", False)}
    status = {c.name: c.status for c in res.checks}
    assert status["adam_many_steps"] == "pass" and status["config_honoured"] == "fail"
