# expect: performance fail before any call was timed
# expect: op_count fail loops in Python
# Hostile: an elementwise Python loop that does its timed work before the timing starts. It
# wraps the worker's request handler: when a block's inputs are loaded it runs every call there
# and then, and the timed block only hands back the stored results (fast, and correct).
import math
import os

import numpy as np

_timing = getattr(os, "s" + "ys").modules.get("grader.runner." + "timing")
if _timing is not None:
    _real_handle = _timing.handle

    def _handle(req, *args, **kwargs):
        answer = _real_handle(req, *args, **kwargs)
        if req.get("op") == "perf_load" and answer.get("ok"):
            state = getattr(_timing, "_" + "STATE")
            state.thunks = [(lambda v=thunk(): v) for thunk in state.thunks]
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
