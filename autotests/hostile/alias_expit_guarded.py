# trick: reaches the forbidden scipy.special.expit without naming an import the static scan can
#   see: the import machinery comes from sys.modules through getattr. dlgrade's import guard in
#   the student process refuses scipy whatever the route.
# expect: signature error not allowed in this exercise
# expect: sigmoid_values error not allowed in this exercise
# score: 0
import os

_loader = getattr(os, "s" + "ys").modules["import" + "lib"]


def sigmoid(z):
    return _loader.import_module("sci" + "py.special").expit(z)


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)
