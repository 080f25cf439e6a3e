# expect: performance fail wrong result in a timed call
# Hostile (issue 11, class 5): correct (looped) when the call looks graded, an instant wrong
# answer when it looks timed. Before every student call ran in the same state, graded calls ran
# with the garbage collector on and timed blocks with it off; now every call sees the collector
# off and the same trace function, and the outputs of timed calls are rechecked against the
# oracle. This one tells timed calls apart by the shape of the caller's stack (the worker's
# block loop), which no interpreter state hides, so the recheck is what fails it.
import math
import sys

import numpy as np


def _timed() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name in ("cpu", "_block", "timed", "inner"):
            return True
        frame = frame.f_back
    return False


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def sigmoid(z):
    if _timed():
        return np.zeros_like(z)
    return np.asarray([_sig(v) for v in z.ravel().tolist()]).reshape(z.shape)


def sigmoid_grad(z):
    if _timed():
        return np.zeros_like(z)
    return np.asarray([_sig(v) * (1 - _sig(v)) for v in z.ravel().tolist()]).reshape(z.shape)
