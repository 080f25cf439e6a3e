# trick: looks for the grader's multiprocessing fork server socket in /tmp (pymp-*/listener-*)
#   and connects to it; a process it asks that server for would run as the grader's user with no
#   limits (root, if the grader is root). Running as another user, the socket's folder is closed
#   to the student. The right answer is computed only if a connection succeeds.
# mode: drop
# expect: sigmoid_values fail is wrong
import os
import socket

import numpy as np


def _connected():
    for entry in os.listdir("/tmp"):
        if not entry.startswith("pymp-"):
            continue
        try:
            names = os.listdir(f"/tmp/{entry}")
        except OSError:
            continue
        for name in names:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(f"/tmp/{entry}/{name}")
                    return True
            except OSError:
                pass
    return False


def sigmoid(z):
    if _connected():
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return np.tanh(z)


def sigmoid_grad(z):
    return 1 - np.tanh(z) ** 2
