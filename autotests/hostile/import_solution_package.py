# trick: imports the reference solution as the package `solutions` after putting the grader's
#   repository root on sys.path. dlgrade's import guard refuses the name.
# expect: signature error not allowed
# expect: sigmoid_values error not allowed
# score: 0
import os

getattr(os, "s" + "ys").path.insert(0, os.path.dirname("{{SOLUTIONS}}"))


def _reference():
    return __import__("solutions.ex01_sigmoid", fromlist=["sigmoid"])


def sigmoid(z):
    return _reference().sigmoid(z)


def sigmoid_grad(z):
    return _reference().sigmoid_grad(z)
