# expect: full
"""Correct: maps rng.random() from [0, 1) onto [-a, a); math.sqrt for the scale."""
import math

import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * math.sqrt(6 / (fan_in + fan_out))
    return (2.0 * rng.random((fan_in, fan_out)) - 1.0) * a


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    var = 2 / (fan_in + fan_out)
    return rng.normal(loc=0.0, scale=gain * math.sqrt(var), size=(fan_in, fan_out))
