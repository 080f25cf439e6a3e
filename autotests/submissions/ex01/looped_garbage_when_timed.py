# expect: performance fail wrong result in a timed call
# expect: sigmoid_values pass
# Hostile (issue 11, class 5): correct (looped) on the small arrays the value checks and op_count
# use, an instant wrong answer (zeros) on the large ones the timing uses. Nothing here is
# forbidden by the static scan: the call's inputs are all it looks at. The outputs of timed calls
# are rechecked against the oracle (grader.checks.measure._recheck), which fails it.
import math

import numpy as np


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def sigmoid(z):
    if z.size >= 1000:
        return np.zeros_like(z)
    return np.asarray([_sig(v) for v in z.ravel().tolist()]).reshape(z.shape)


def sigmoid_grad(z):
    if z.size >= 1000:
        return np.zeros_like(z)
    return np.asarray([_sig(v) * (1 - _sig(v)) for v in z.ravel().tolist()]).reshape(z.shape)
