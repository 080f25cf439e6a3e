# expect: normal_moments fail used as the normal's sigma
# expect: normal_distribution fail the shape is normal but with standard deviation
# expect: uniform_bounds pass
"""Wrong: the uniform's bound sqrt(6/(fan_in+fan_out)) used as the normal's standard deviation."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.normal(0.0, a, size=(fan_in, fan_out))
