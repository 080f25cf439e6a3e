"""ex01 returning objects whose __repr__, __eq__, __array__ and __float__ raise or hang."""
import time


class Evil:
    def __repr__(self):
        raise RuntimeError("repr")

    __str__ = __repr__

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __array__(self, *a, **k):
        while True:
            time.sleep(1)

    def __float__(self):
        raise RuntimeError("float")

    def __len__(self):
        raise RuntimeError("len")


def sigmoid(z):
    return Evil()


def sigmoid_grad(z):
    return (Evil(), [Evil()])
