# expect: uniform_bounds fail He's variance 2/fan_in
# expect: normal_moments fail He's variance 2/fan_in
# expect: shape pass
"""Wrong: Kaiming/He's fan_in-only variance instead of Glorot's."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, gain * np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
