# trick: raises BaseException subclasses a test framework may not catch (KeyboardInterrupt,
#   GeneratorExit, a home-made BaseException whose __str__ itself raises)
# expect: signature error KeyboardInterrupt
# expect: sigmoid_grad_values error unprintable
# expect: sigmoid_values error KeyboardInterrupt
# score: 0
import numpy as np


class Sneaky(BaseException):
    def __str__(self):
        raise RuntimeError("no message for you")


def sigmoid(z):
    raise KeyboardInterrupt


def sigmoid_grad(z):
    if z.size > 20:
        raise GeneratorExit
    raise Sneaky()
