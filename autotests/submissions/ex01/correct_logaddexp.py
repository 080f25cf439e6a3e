# expect: full
import numpy as np


def sigmoid(z):
    # sigma(z) = exp(-log(1 + exp(-z))) = exp(-logaddexp(0, -z)), stable for any z
    return np.exp(-np.logaddexp(0.0, -z))


def sigmoid_grad(z):
    return np.exp(-np.logaddexp(0.0, -z) - np.logaddexp(0.0, z))
