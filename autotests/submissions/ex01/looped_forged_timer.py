# expect: performance fail cannot be trusted
# expect: no_forbidden_calls fail sys.modules
# Hostile: an elementwise Python loop that hides its cost by rewriting the timing answers of the
# student process (the student's blocks claim 1/50 of the CPU time they took). The grader reads
# the process's CPU time from the operating system and sees the contradiction.
import math
import sys

import numpy as np

_timing = sys.modules.get("grader.runner.timing")
if _timing is not None:
    _real_handle = _timing.handle

    def _forged_handle(req, *args, **kwargs):
        answer = _real_handle(req, *args, **kwargs)
        if req.get("op") == "perf_block" and "seconds" in answer:
            answer["seconds"] /= 50.0
        return answer

    _timing.handle = _forged_handle


def sigmoid(z):
    out = np.empty_like(z)
    for i, v in np.ndenumerate(z):
        out[i] = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    return out


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)
