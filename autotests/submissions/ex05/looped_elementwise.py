# expect: performance fail a Python loop over the elements
# expect: op_count fail loops in Python over the entries of W
# Correct Xavier initialisation, but one draw from rng per weight, in a double Python loop.
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    W = np.empty((fan_in, fan_out))
    for i in range(fan_in):
        for j in range(fan_out):
            W[i, j] = rng.uniform(-a, a)
    return W


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    sigma = gain * np.sqrt(2.0 / (fan_in + fan_out))
    W = np.empty((fan_in, fan_out))
    for i in range(fan_in):
        for j in range(fan_out):
            W[i, j] = rng.normal(0.0, sigma)
    return W
