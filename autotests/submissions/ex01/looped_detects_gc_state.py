# expect: performance fail
# expect: sigmoid_values pass
# Hostile (issue 11, class 5): a correct loop while every call it has seen ran in one interpreter
# state, zeros as soon as a call runs in another. Value checks used to run with the garbage
# collector on and no trace function, timed blocks with the collector off, op_count under a trace
# function: the timed calls got zeros, fast. Every student call now runs with the collector off
# and the same trace function installed (grader.runner.timing.student_state), so it always takes
# the loop and is timed as a loop (and its timed outputs would be rechecked anyway).
import gc
import math
import sys

import numpy as np

_SEEN: set = set()


def _looks_graded() -> bool:
    state = (gc.isenabled(), sys.gettrace())
    _SEEN.add((state[0], id(state[1])))
    return len(_SEEN) == 1   # one state only so far: keep answering correctly


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def sigmoid(z):
    if not _looks_graded():
        return np.zeros_like(z)
    return np.asarray([_sig(v) for v in z.ravel().tolist()]).reshape(z.shape)


def sigmoid_grad(z):
    if not _looks_graded():
        return np.zeros_like(z)
    return np.asarray([_sig(v) * (1 - _sig(v)) for v in z.ravel().tolist()]).reshape(z.shape)
