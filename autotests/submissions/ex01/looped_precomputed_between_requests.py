# expect: performance fail sigmoid
# expect: no_forbidden_calls fail imports signal
# expect: op_count fail loops in Python
# Hostile: an elementwise Python loop that does its timed work between two requests. It wraps the
# worker's request handler: after a block's inputs are loaded it answers at once and arms a timer
# of its own; the timer wakes the process while the grader is between requests, runs every call
# and keeps the results, and the timed block only hands them back. Wherever the timer lands (the
# load, the moment between the two requests, the block) the grader charges the work: "cannot be
# trusted" or "too slow", whichever window it fell in; the import of signal is refused too.
import math
import os

import numpy as np

import signal as _sig
_timing = getattr(os, "s" + "ys").modules.get("grader.runner." + "timing")
if _timing is not None:
    _real_handle = _timing.handle
    _state = getattr(_timing, "_" + "STATE")

    def _precompute(*_):
        _state.thunks = [(lambda v=thunk(): v) for thunk in _state.thunks]

    _sig.signal(_sig.SIGALRM, _precompute)

    def _handle(req, *args, **kwargs):
        answer = _real_handle(req, *args, **kwargs)
        if req.get("op") == "perf_load" and answer.get("ok"):
            _sig.setitimer(_sig.ITIMER_REAL, 0.003)
        return answer

    _timing.handle = _handle


def sigmoid(z):
    out = np.empty_like(z)
    flat, res = z.ravel(), out.ravel()
    for i in range(flat.size):
        x = flat[i]
        if x >= 0:
            res[i] = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            res[i] = e / (1.0 + e)
    return out


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)
