# trick: loads the reference solution straight from its file (importlib.util.spec_from_file_location
#   skips every import hook; reached through getattr). Only the operating system can stop this:
#   dlgrade under root runs student code as 'nobody' with the solutions folder covered by an empty
#   file system. Under one user the file is readable - keep solutions off the grading machine
#   (docs/security.md).
# mode: drop
# expect: sigmoid_values error FileNotFoundError
# score: 0
import os

_util = getattr(os, "s" + "ys").modules["importlib.util"]


def _reference():
    spec = _util.spec_from_file_location("reference", "{{SOLUTIONS}}/ex01_sigmoid.py")
    module = _util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sigmoid(z):
    return _reference().sigmoid(z)


def sigmoid_grad(z):
    return _reference().sigmoid_grad(z)
