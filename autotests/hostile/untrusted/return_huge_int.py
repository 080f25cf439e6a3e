"""ex01 returning an integer of 100,001 digits (str() of it raises in Python >= 3.11)."""


def sigmoid(z):
    return 10 ** 100000


def sigmoid_grad(z):
    return -(10 ** 100000)
