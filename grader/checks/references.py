"""The performance checks' references: library kernels timed in the grader's own process.

The ``performance`` check compares the student's function with a reference doing comparable
vectorised work. A reference is *data*: a list of :class:`Step` s, each one call of a library
function (numpy, scipy, torch) on prepared arguments or on the results of earlier steps
(:class:`Out`). No reference is a hand-written implementation of an exercise: where a library
has the exercise's operation (``scipy.special.expit``, ``torch.nn.functional.conv2d``,
``torch.lstm_cell``, ``scaled_dot_product_attention``, ``max_pool2d``, ``torch.nn.RNN``,
``clip_grad_norm_``, autograd for the backward passes) the reference is that call; elsewhere
(optimiser steps, dropout, Xavier, batch normalisation, logistic loss) it is the same *amount*
of library work on arrays of the same size - uniform or normal draws without the exercise's
scale, elementwise passes, a standardisation, matrix products - which scales with the problem
size as a vectorised solution does but does not compute the exercise's answer. A calibrated
ratio absorbs the constant factor (docs/performance.md).

References run only in the grader's process (:func:`grader.checks.measure.time_reference`),
never in the student's, so nothing a submission patches there (``np.exp``, torch functions) or
starts there changes their time. ``autotests/test_references.py`` checks that every step calls a
library function and that the built wheel defines no function named like a contract function.

A factory ``REFERENCES[name](*args, **kwargs)`` takes the arguments the student's function gets
(numpy float64 arrays, ``np.random.Generator`` objects; torch tensors for torch exercises) and
returns the steps; set-up (transposes, building an autograd graph) happens in the factory,
outside the timed region. torch and scipy are imported lazily.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Out:
    """An argument of a step: the result of step ``index`` of the same reference."""

    index: int


@dataclass(frozen=True)
class Step:
    """One library call: ``fn(*args, **kwargs)``, :class:`Out` arguments replaced by results."""

    fn: Callable
    args: tuple = ()
    kwargs: dict | None = None


def run(steps: list[Step]) -> Any:
    """Run the steps in order; the last step's result."""
    outs: list = []
    for s in steps:
        args = [outs[a.index] if type(a) is Out else a for a in s.args]
        outs.append(s.fn(*args, **s.kwargs) if s.kwargs else s.fn(*args))
    return outs[-1]


def library_of(fn) -> str:
    """The top-level package a step's callable belongs to ("numpy", "scipy", "torch", ...)."""
    if isinstance(fn, np.ufunc):  # numpy's and scipy.special's ufuncs
        return "numpy" if getattr(np, fn.__name__, None) is fn else "scipy"
    owner = getattr(fn, "__self__", None)
    if owner is not None and not isinstance(owner, type) and type(owner).__module__ != "builtins":
        return type(owner).__module__.split(".")[0]  # a Generator's method, a module's forward
    module = getattr(fn, "__module__", None) or type(fn).__module__
    return str(module).split(".")[0]


# -- numpy exercises ------------------------------------------------------------------------------
def _expit():
    from scipy.special import expit
    return expit


def _elementwise(arrays: list, passes: int) -> list[Step]:
    """``passes`` elementwise library passes (np.hypot, np.multiply alternately) chained over
    arrays of the exercise's shape: the work of an elementwise update, not its formula."""
    steps = [Step(np.hypot, (arrays[0], arrays[1 % len(arrays)]))]
    for k in range(1, passes):
        fn = np.multiply if k % 2 else np.hypot
        steps.append(Step(fn, (Out(k - 1), arrays[(k + 1) % len(arrays)])))
    return steps


def ref_expit(z) -> list[Step]:
    """scipy.special.expit(z)."""
    return [Step(_expit(), (z,))]


def ref_expit_grad(z) -> list[Step]:
    """s = scipy.special.expit(z); s * (1 - s) (expit and numpy arithmetic)."""
    return [Step(_expit(), (z,)), Step(np.subtract, (1.0, Out(0))),
            Step(np.multiply, (Out(0), Out(1)))]


def ref_matmul_bias(x, w, b) -> list[Step]:
    """np.matmul of x as (N, D) with w, then np.add of b."""
    return [Step(np.matmul, (x.reshape(x.shape[0], -1), w)), Step(np.add, (Out(0), b))]


def _log_softmax():
    from scipy.special import log_softmax
    return log_softmax


def ref_log_softmax_nll(scores, y) -> list[Step]:
    """scipy.special.log_softmax, the picked log-probabilities (np.take_along_axis), np.mean,
    np.exp of the log-probabilities (the work of the loss and its probabilities)."""
    return [Step(_log_softmax(), (scores,), {"axis": 1}),
            Step(np.take_along_axis, (Out(0), np.asarray(y)[:, None]), {"axis": 1}),
            Step(np.mean, (Out(1),)), Step(np.exp, (Out(0),))]


def ref_mlp_nll(X, y, params, reg=0.0) -> list[Step]:
    """Two np.matmul layers with np.maximum between, then ref_log_softmax_nll's steps."""
    X2 = X.reshape(X.shape[0], -1)
    return [Step(np.matmul, (X2, params["W1"])), Step(np.add, (Out(0), params["b1"])),
            Step(np.maximum, (Out(1), 0.0)), Step(np.matmul, (Out(2), params["W2"])),
            Step(np.add, (Out(3), params["b2"])), Step(_log_softmax(), (Out(4),), {"axis": 1}),
            Step(np.take_along_axis, (Out(5), np.asarray(y)[:, None]), {"axis": 1}),
            Step(np.mean, (Out(6),)), Step(np.exp, (Out(5),))]


def ref_elementwise_update(w, dw, config=None) -> list[Step]:
    """Six elementwise passes over arrays of w's shape (an optimiser step's work)."""
    return _elementwise([w, dw], 6)


def ref_uniform_mask(x, p, train, rng) -> list[Step]:
    """Generator.random of x's shape, then np.hypot with x (a mask draw and one pass)."""
    return [Step(rng.random, (x.shape,)), Step(np.hypot, (x, Out(0)))]


def ref_uniform(fan_in, fan_out, rng, gain=1.0) -> list[Step]:
    """Generator.uniform(-1, 1) of shape (fan_in, fan_out) (no Xavier scale)."""
    return [Step(rng.uniform, (-1.0, 1.0), {"size": (fan_in, fan_out)})]


def ref_normal(fan_in, fan_out, rng, gain=1.0) -> list[Step]:
    """Generator.standard_normal of shape (fan_in, fan_out) (no Xavier scale)."""
    return [Step(rng.standard_normal, ((fan_in, fan_out),))]


def ref_standardise(x, gamma, beta, bn_param) -> list[Step]:
    """np.mean and np.std over the batch, np.subtract, np.divide (a z-score), np.multiply by
    gamma: batch statistics and three passes over x."""
    return [Step(np.mean, (x,), {"axis": 0}), Step(np.std, (x,), {"axis": 0}),
            Step(np.subtract, (x, Out(0))), Step(np.divide, (Out(2), Out(1))),
            Step(np.multiply, (Out(3), gamma))]


def ref_logistic_work(w, b, X, y, reg=0.0) -> list[Step]:
    """np.matmul X @ w, np.logaddexp(0, .), np.exp of it, np.matmul X.T @ (...), np.mean: the
    work of the loss and its gradient (numpy only: no scipy import for a numpy exercise)."""
    return [Step(np.matmul, (X, w)), Step(np.logaddexp, (0.0, Out(0))),
            Step(np.exp, (Out(1),)), Step(np.matmul, (X.T, Out(2))), Step(np.mean, (Out(1),))]


# -- torch exercises: torch's own kernels; autograd for the backward passes ------------------------
def _leaves(*tensors):
    return tuple(t.detach().clone().requires_grad_(True) for t in tensors)


def vjp_loss(outputs, upstream):
    """sum(out * dout) over the outputs: its gradient w.r.t. the inputs is the vector-Jacobian
    product with ``upstream``. (``torch.autograd.grad(out, inputs, dout)`` would compute the same,
    but its first call with a tensor ``grad_outputs`` imports sympy, about 0.9 s.)"""
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    upstream = upstream if isinstance(upstream, tuple) else (upstream,)
    return sum((o * u).sum() for o, u in zip(outputs, upstream))


def _grad_step(loss, leaves) -> list[Step]:
    import torch
    return [Step(torch.autograd.grad, (loss, leaves), {"retain_graph": True})]


def _graph(forward, leaves, upstream):
    import torch
    with torch.enable_grad():
        return vjp_loss(forward(*leaves), upstream)


def _conv(x, w, b, stride, pad):
    import torch.nn.functional as F
    return F.conv2d(x, w, b, stride=stride, padding=pad)


def ref_conv2d(x, w, b, stride=1, pad=0) -> list[Step]:
    """torch.nn.functional.conv2d(x, w, b, stride, padding)."""
    import torch.nn.functional as F
    return [Step(F.conv2d, (x, w, b), {"stride": stride, "padding": pad})]


def ref_conv2d_grad(x, w, b, dout, stride=1, pad=0) -> list[Step]:
    """torch.autograd.grad of conv2d w.r.t. (x, w, b) for upstream ``dout``."""
    leaves = _leaves(x, w, b)
    return _grad_step(_graph(lambda *t: _conv(*t, stride, pad), leaves, dout), leaves)


def _lstm(x, h, c, Wx, Wh, b):
    import torch
    return torch.lstm_cell(x, (h, c), Wx.T, Wh.T, b, None)


def ref_lstm_cell(x, prev_h, prev_c, Wx, Wh, b) -> list[Step]:
    """torch.lstm_cell (nn.LSTMCell's kernel), weights transposed once (gate order differs from
    the exercise's, the work does not)."""
    import torch
    return [Step(torch.lstm_cell, (x, (prev_h, prev_c), Wx.T.contiguous(), Wh.T.contiguous(), b))]


def ref_lstm_cell_grad(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c) -> list[Step]:
    """torch.autograd.grad of torch.lstm_cell w.r.t. its six inputs."""
    leaves = _leaves(x, prev_h, prev_c, Wx, Wh, b)
    return _grad_step(_graph(_lstm, leaves, (dnext_h, dnext_c)), leaves)


def _attention(x, Wq, Wk, Wv, causal):
    import torch.nn.functional as F
    return F.scaled_dot_product_attention(x @ Wq, x @ Wk, x @ Wv, is_causal=bool(causal))


def ref_sdpa(x, Wq, Wk, Wv, causal=False) -> list[Step]:
    """Three torch.matmul projections, then torch.nn.functional.scaled_dot_product_attention."""
    import torch
    import torch.nn.functional as F
    return [Step(torch.matmul, (x, Wq)), Step(torch.matmul, (x, Wk)),
            Step(torch.matmul, (x, Wv)),
            Step(F.scaled_dot_product_attention, (Out(0), Out(1), Out(2)),
                 {"is_causal": bool(causal)})]


def ref_sdpa_grad(x, Wq, Wk, Wv, dout, causal=False) -> list[Step]:
    """torch.autograd.grad of the projections + scaled_dot_product_attention."""
    leaves = _leaves(x, Wq, Wk, Wv)
    return _grad_step(_graph(lambda *t: _attention(*t, causal), leaves, dout), leaves)


def _pool(x, ph, pw, stride):
    import torch.nn.functional as F
    return F.max_pool2d(x, (ph, pw), stride=stride)


def ref_max_pool2d(x, pool_height=2, pool_width=2, stride=2) -> list[Step]:
    """torch.nn.functional.max_pool2d, no padding."""
    import torch.nn.functional as F
    return [Step(F.max_pool2d, (x, (pool_height, pool_width)), {"stride": stride})]


def ref_max_pool2d_grad(x, dout, pool_height=2, pool_width=2, stride=2) -> list[Step]:
    """torch.autograd.grad of max_pool2d w.r.t. x."""
    leaves = _leaves(x)
    return _grad_step(_graph(lambda t: _pool(t, pool_height, pool_width, stride), leaves, dout),
                      leaves)


def _rnn_module(Wx, Wh, b):
    """A torch.nn.RNN (tanh, batch_first) holding the weights: weight_ih = Wx.T, weight_hh =
    Wh.T, bias_ih = b, bias_hh = 0."""
    import torch
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, device=Wx.device,
                       dtype=Wx.dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(Wx.T)
        rnn.weight_hh_l0.copy_(Wh.T)
        rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
    return rnn


def ref_rnn(x, h0, Wx, Wh, b) -> list[Step]:
    """torch.nn.RNN (tanh) over x (N, T, D) from h0, parameters without gradients."""
    rnn = _rnn_module(Wx, Wh, b).requires_grad_(False)
    return [Step(rnn, (x, h0.unsqueeze(0)))]


def ref_rnn_grad(x, h0, Wx, Wh, b, dh) -> list[Step]:
    """torch.autograd.grad of torch.nn.RNN's hidden states w.r.t. x, h0 and its weights."""
    rnn = _rnn_module(Wx, Wh, b)
    leaves = _leaves(x, h0) + tuple(rnn.parameters())
    return _grad_step(_graph(lambda xx, hh, *_: rnn(xx, hh.unsqueeze(0))[0], leaves, dh), leaves)


def ref_clip_grad_norm(grads, max_norm) -> list[Step]:
    """torch.nn.utils.clip_grad_norm_ on parameters holding copies of ``grads``."""
    import torch
    holders = [torch.zeros_like(g) for g in grads]
    for holder, g in zip(holders, grads):
        holder.grad = g.clone()
    return [Step(torch.nn.utils.clip_grad_norm_, (holders, max_norm))]


def _pair(forward: list[Step], leaves, upstream) -> list[Step]:
    """Forward and backward on a fresh graph per call (CUDA timing): the forward steps on the
    leaves, torch.mul by the upstream gradient, torch.sum, torch.autograd.grad."""
    import torch
    k = len(forward)
    ups = upstream if isinstance(upstream, tuple) else (upstream,)
    if len(ups) == 1:
        return forward + [Step(torch.mul, (Out(k - 1), ups[0])), Step(torch.sum, (Out(k),)),
                          Step(torch.autograd.grad, (Out(k + 1), leaves))]
    # lstm_cell: (h, c) and two upstream gradients
    return forward + [Step(torch.cat, (Out(k - 1),)), Step(torch.mul, (Out(k), torch.cat(ups))),
                      Step(torch.sum, (Out(k + 1),)), Step(torch.autograd.grad, (Out(k + 2), leaves))]


def ref_conv_pair(x, w, b, dout, stride=1, pad=0) -> list[Step]:
    """conv2d forward and backward (cuDNN on CUDA), a fresh graph per call."""
    leaves = _leaves(x, w, b)
    return _pair(ref_conv2d(*leaves, stride, pad), leaves, dout)


def ref_lstm_pair(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c) -> list[Step]:
    """torch.lstm_cell forward and backward, a fresh graph per call (the weights' transposes
    are views of the leaves, taken per call)."""
    import torch
    leaves = _leaves(x, prev_h, prev_c, Wx, Wh, b)
    lx, lh, lc, lwx, lwh, lb = leaves
    forward = [Step(torch.t, (lwx,)), Step(torch.t, (lwh,)),
               Step(torch.lstm_cell, (lx, (lh, lc), Out(0), Out(1), lb))]
    return _pair(forward, leaves, (dnext_h, dnext_c))


def ref_sdpa_pair(x, Wq, Wk, Wv, dout, causal=False) -> list[Step]:
    """Projections + scaled_dot_product_attention forward and backward, a fresh graph per call."""
    leaves = _leaves(x, Wq, Wk, Wv)
    return _pair(ref_sdpa(*leaves, causal), leaves, dout)


def ref_max_pool2d_pair(x, dout, pool_height=2, pool_width=2, stride=2) -> list[Step]:
    """max_pool2d forward and backward, a fresh graph per call."""
    leaves = _leaves(x)
    return _pair(ref_max_pool2d(leaves[0], pool_height, pool_width, stride), leaves, dout)


def ref_rnn_pair(x, h0, Wx, Wh, b, dh) -> list[Step]:
    """torch.nn.RNN (cuDNN on CUDA) forward and backward, a fresh graph per call."""
    import operator
    rnn = _rnn_module(Wx, Wh, b)
    leaves = _leaves(x, h0) + tuple(rnn.parameters())
    forward = [Step(_unsqueeze(), (leaves[1], 0)), Step(rnn, (leaves[0], Out(0))),
               Step(operator.itemgetter(0), (Out(1),))]
    return _pair(forward, leaves, dh)


def _unsqueeze():
    import torch
    return torch.unsqueeze


#: name -> factory. The names are what a plan's ``Timed.ref`` holds.
REFERENCES: dict[str, Callable[..., list[Step]]] = {
    "expit": ref_expit, "expit_grad": ref_expit_grad, "matmul_bias": ref_matmul_bias,
    "log_softmax_nll": ref_log_softmax_nll, "mlp_nll": ref_mlp_nll,
    "elementwise_update": ref_elementwise_update, "uniform_mask": ref_uniform_mask,
    "uniform": ref_uniform, "normal": ref_normal, "standardise": ref_standardise,
    "logistic_work": ref_logistic_work,
    "conv2d": ref_conv2d, "conv2d_grad": ref_conv2d_grad, "lstm_cell": ref_lstm_cell,
    "lstm_cell_grad": ref_lstm_cell_grad, "sdpa": ref_sdpa, "sdpa_grad": ref_sdpa_grad,
    "max_pool2d": ref_max_pool2d, "max_pool2d_grad": ref_max_pool2d_grad, "rnn": ref_rnn,
    "rnn_grad": ref_rnn_grad, "clip_grad_norm": ref_clip_grad_norm,
    "conv_pair": ref_conv_pair, "lstm_pair": ref_lstm_pair, "sdpa_pair": ref_sdpa_pair,
    "max_pool2d_pair": ref_max_pool2d_pair, "rnn_pair": ref_rnn_pair,
}
