# expect: gain fail the gain is ignored
# expect: uniform_bounds pass
# expect: normal_moments pass
"""Wrong: accepts gain but never uses it."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
