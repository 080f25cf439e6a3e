# trick: the graded functions end the process with os._exit(0) (hidden behind getattr)
# expect: signature error exited with status 0
# expect: sigmoid_values error ended during the call
# expect: sigmoid_grad_numeric error exited with status 0
# score: 0
import os

_leave = getattr(os, "_e" + "xit")


def sigmoid(z):
    _leave(0)


def sigmoid_grad(z):
    _leave(0)
