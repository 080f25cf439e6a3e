# trick: imports the reference solution by its module name: puts the solutions folder first on
#   sys.path (and its own folder off it), drops its own module from sys.modules (it has the same
#   name) and imports `ex01_sigmoid` again. dlgrade's import guard refuses a module whose file lies
#   in the solutions folder (under root, that folder even looks empty to the student).
# expect: signature error 'ex01_sigmoid'
# expect: sigmoid_values error 'ex01_sigmoid'
# score: 0
import os

_sys = getattr(os, "s" + "ys")
_here = os.path.dirname(os.path.abspath(__file__))


def _reference():
    _sys.path[:] = ["{{SOLUTIONS}}"] + [p for p in _sys.path if os.path.abspath(p or ".") != _here]
    mine = _sys.modules.pop("ex01_sigmoid")
    try:
        return __import__("ex01_sigmoid")
    finally:
        _sys.modules["ex01_sigmoid"] = mine


def sigmoid(z):
    return _reference().sigmoid(z)


def sigmoid_grad(z):
    return _reference().sigmoid_grad(z)
