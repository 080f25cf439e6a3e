# expect: uniform_bounds fail symmetric around 0
# expect: normal_moments pass
"""Wrong: scales rng.random() (in [0, 1)) by a, so every weight is positive."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.random((fan_in, fan_out)) * a


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
