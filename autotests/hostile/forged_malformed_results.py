# trick: patches dlgrade's worker so that its answers have the wrong shape (a count where a list
#   of warnings belongs, no value at all), hoping to crash the grader (a crashed grader writes no
#   failing report). The grader validates every answer's shape: a malformed one is an error.
# perf
# expect: signature error answered with a malformed message
# expect: sigmoid_values error answered with a malformed message
# expect: op_count fail did not pass its correctness checks
# score: 0
import os

_worker = getattr(os, "s" + "ys").modules["grader.runner.worker"]
_worker._Session.call = lambda self, req: {"ok": True, "warnings": 5, "inputs": 3}


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
