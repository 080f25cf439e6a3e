# trick: reads the grader's memory through /proc (its environment, its memory map, its memory),
#   where the inputs and the oracle's values live. It computes the right answer only if a read
#   succeeds, to show the reads are refused: the grader is non-dumpable (no ptrace or /proc access
#   for its own user) and, under root, student code runs as another user.
# mode: unprivileged
# expect: sigmoid_values fail is wrong
# expect: sigmoid_grad_values fail is wrong
import os

import numpy as np


def _grader():
    with open(f"/proc/{getattr(os, 'getp' + 'id')()}/stat") as fh:
        server = int(fh.read().rsplit(")", 1)[1].split()[1])
    with open(f"/proc/{server}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def _can_read_grader():
    pid = _grader()
    for name in ("environ", "maps", "mem"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as fh:
                if name == "mem":
                    with open(f"/proc/{pid}/maps") as maps:
                        start = int(maps.readline().split("-")[0], 16)
                    fh.seek(start)
                if fh.read(16):
                    return True
        except (OSError, ValueError):
            pass
    return False


def sigmoid(z):
    if _can_read_grader():
        return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
    return np.tanh(z)


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s) if _can_read_grader() else 1 - s
