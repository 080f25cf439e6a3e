# expect: full
"""Correct: rng.uniform with keyword arguments; the normal from standard normals times sigma."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(low=-a, high=a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    sigma = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return sigma * rng.standard_normal((fan_in, fan_out))
