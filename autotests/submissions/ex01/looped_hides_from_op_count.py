# expect: op_count fail
# expect: performance fail too slow
# expect: sigmoid_values pass
# Hostile (issue 11, class 5): vectorised while it is being counted, a Python loop otherwise. It
# recognises op_count by the interpreter state: a trace function installed with the garbage
# collector on (value checks used to run with no trace function, timed blocks with the collector
# off). Every student call now runs with the collector off and the same trace function
# (grader.runner.timing.student_state), so it cannot tell a counted call and always loops.
import gc
import math
import sys

import numpy as np


def _counted() -> bool:
    return sys.gettrace() is not None and gc.isenabled()


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def sigmoid(z):
    if _counted():
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return np.asarray([_sig(v) for v in z.ravel().tolist()]).reshape(z.shape)


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)
