# expect: gain fail inside the square root
# expect: uniform_bounds pass
"""Wrong: multiplies the variance by gain (inside the square root) instead of the scale."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = np.sqrt(gain * 6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, np.sqrt(gain * 2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
