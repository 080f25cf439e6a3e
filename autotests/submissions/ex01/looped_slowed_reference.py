# expect: performance fail too slow
# expect: sigmoid_values fail patching library functions is forbidden
# Hostile (issue 11, class 5): an elementwise Python loop that slows numpy down in its own process
# - every numpy and scipy.special ufunc the grader's library reference could call is wrapped to do
# its work 200 times - so that a reference timed next to it looks slow and the ratio small. The
# reference runs in the grader's process (grader.checks.measure.time_reference), where nothing of
# this module exists: the loop is timed against the genuine expit and fails.
import math

import numpy as np

_SLOW = ("exp", "add", "subtract", "multiply", "divide", "true_divide", "hypot", "where", "abs",
         "negative", "reciprocal", "matmul", "maximum", "sqrt", "log", "logaddexp")


def _slowed(fn):
    def slow(*args, **kwargs):
        for _ in range(199):
            fn(*args, **kwargs)
        return fn(*args, **kwargs)
    return slow


for _name in _SLOW:
    setattr(np, _name, _slowed(getattr(np, _name)))


def sigmoid(z):
    out = [0.0] * z.size
    flat = z.ravel().tolist()
    for i, v in enumerate(flat):
        out[i] = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    return np.asarray(out).reshape(z.shape)


def sigmoid_grad(z):
    s = sigmoid(z)
    return np.asarray([a * (1.0 - a) for a in s.ravel().tolist()]).reshape(z.shape)
