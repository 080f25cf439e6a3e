# expect: performance fail cannot be trusted
# expect: no_forbidden_calls fail sys.modules
# Hostile: an elementwise Python loop that really slows the grader's reference down inside its own
# process (it replaces the reference with one that does the work 200 times), so that the ratio
# looks small. The grader times the same reference in its own process and sees the difference.
import math
import sys

import numpy as np

_refs = sys.modules.get("grader.runner.references")
if _refs is not None:
    for _name in ("sigmoid", "sigmoid_grad"):
        _real = _refs.REFERENCES[_name]

        def _slow(*args, _real=_real, **kwargs):
            thunk = _real(*args, **kwargs)

            def run():
                for _ in range(200):
                    value = thunk()
                return value
            return run

        _refs.REFERENCES[_name] = _slow


def sigmoid(z):
    out = np.empty_like(z)
    for i, v in np.ndenumerate(z):
        out[i] = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    return out


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)
