# expect: uniform_bounds fail look normally distributed
# expect: uniform_distribution fail look normally distributed
# expect: uniform_moments pass
"""Wrong: xavier_uniform draws from the normal with Glorot's variance."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
