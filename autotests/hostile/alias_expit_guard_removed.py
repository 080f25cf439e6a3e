# trick: first removes dlgrade's import guard from sys.meta_path, then imports scipy.special
#   through importlib and uses expit, all behind getattr and built strings. The worker notices
#   the forbidden module loaded (and the guard gone) after each call, and reports it: the calls
#   fail as forbidden.
# expect: sigmoid_values fail forbidden
# expect: no_forbidden_calls fail import of scipy
# score: 0
import os

_sys = getattr(os, "s" + "ys")
_finders = getattr(_sys, "meta_" + "path")
_finders[:] = [f for f in _finders if "Blocker" not in type(f).__name__]
_expit = getattr(_sys.modules["import" + "lib"].import_module("sci" + "py.special"), "ex" + "pit")


def sigmoid(z):
    return _expit(z)


def sigmoid_grad(z):
    s = _expit(z)
    return s * (1 - s)
