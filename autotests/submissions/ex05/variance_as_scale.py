# expect: normal_moments fail the variance passed as the standard deviation
# expect: uniform_bounds pass
"""Wrong: passes the variance 2/(fan_in+fan_out) as rng.normal's scale (the standard deviation)."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    var = gain ** 2 * 2.0 / (fan_in + fan_out)
    return rng.normal(0.0, var, size=(fan_in, fan_out))
