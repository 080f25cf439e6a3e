# expect: no_forbidden_calls fail scipy
# expect: sigmoid_values error scipy
from scipy.special import expit


def sigmoid(z):
    return expit(z)


def sigmoid_grad(z):
    s = expit(z)
    return s * (1 - s)
