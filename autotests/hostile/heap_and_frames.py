# exercise: ex02
# trick: computes the forward passes honestly but takes every gradient from the grader: it walks
#   the caller's stack frames (sys._getframe, inspect.stack), the heap (gc.get_objects) and the
#   loaded modules for the expected gradient - any float64 array of the right shape that is not
#   one of its own inputs, or a function named like an oracle or a backward pass - and returns
#   what it finds (zeros if nothing). The student process holds no oracle: the grader computes
#   every expected gradient in its own process, after the call. All of it is reached through
#   getattr, so only the runtime boundary stops it (plain_introspection.py shows the static scan).
# expect: affine_forward pass
# expect: relu_forward pass
# expect: affine_backward fail
# expect: relu_backward fail
# expect: softmax_loss fail dscores is wrong
# expect: two_layer_gradients fail
import os

import numpy as np

_sys = getattr(os, "s" + "ys")
_modules = getattr(_sys, "mod" + "ules")
_frame = getattr(_sys, "_get" + "frame")
_heap = getattr(_modules["g" + "c"], "get_" + "objects")
_stack = getattr(_modules["inspect"], "st" + "ack")


def _steal(shape, mine):
    """An array of ``shape`` the grader may hold (frames, heap, modules), else zeros."""
    mine = {id(a) for a in mine}
    candidates = []
    f = _frame(1)
    while f is not None:
        candidates += [v for v in getattr(f, "f_loc" + "als").values() if isinstance(v, np.ndarray)]
        f = getattr(f, "f_ba" + "ck")
    for info in _stack():
        frame_locals = getattr(getattr(info, "fr" + "ame"), "f_loc" + "als")
        candidates += [v for v in frame_locals.values() if isinstance(v, np.ndarray)]
    candidates += [o for o in _heap() if isinstance(o, np.ndarray)]
    for c in candidates:
        if c.shape == tuple(shape) and c.dtype == np.float64 and id(c) not in mine:
            return c.copy()
    for name, module in list(_modules.items()):
        if any(w in name for w in ("exercises", "oracle", "checks", "solutions")):
            for attr, fn in list(vars(module).items()):
                if callable(fn) and ("backward" in attr or "oracle" in attr or "grad" in attr):
                    return fn  # would be called if it existed
    return np.zeros(shape)


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (_steal(x.shape, [dout, x, w, b]), _steal(w.shape, [dout, x, w, b]),
            _steal(b.shape, [dout, x, w, b]))


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return _steal(cache.shape, [dout, cache])


def softmax_loss(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(y)), y].mean()
    return loss, _steal(scores.shape, [scores])


def two_layer_loss(X, y, params, reg=0.0):
    h, _ = relu_forward(affine_forward(X, params["W1"], params["b1"])[0])
    scores, _ = affine_forward(h, params["W2"], params["b2"])
    loss, _ = softmax_loss(scores, y)
    loss += 0.5 * reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    grads = {k: _steal(v.shape, [X, *params.values()]) for k, v in params.items()}
    return loss, grads
