# trick: a correct sigmoid that also looks around the grader's process the plain way
#   (gc.get_objects, sys._getframe, inspect.stack). The static scan of the source flags the
#   introspection, and a submission using it scores nothing, however right its values are.
# expect: sigmoid_values fail gc.get_objects
# expect: no_forbidden_calls fail dlgrade forbids in graded code
# score: 0
import gc
import inspect
import sys

import numpy as np


def _look_around():
    return len(gc.get_objects()), sys._getframe(1), inspect.stack()


def sigmoid(z):
    _look_around()
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)
