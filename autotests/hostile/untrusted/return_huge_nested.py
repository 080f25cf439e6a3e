"""ex01 returning a 10**7-element nested list and a tuple nested 100,000 deep."""


def sigmoid(z):
    return [[0.5] * 1000 for _ in range(10_000)]


def sigmoid_grad(z):
    t = ()
    for _ in range(100_000):
        t = (t,)
    return t
