# expect: sigmoid_values fail returned a list
import math


def sigmoid(z):
    return [1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)) for v in z.ravel()]


def sigmoid_grad(z):
    return [s * (1 - s) for s in sigmoid(z)]
