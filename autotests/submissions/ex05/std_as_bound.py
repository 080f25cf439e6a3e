# expect: uniform_bounds fail used as the uniform's bound
# expect: uniform_moments fail used as the uniform's bound
# expect: normal_moments pass
"""Wrong: the normal's sigma sqrt(2/(fan_in+fan_out)) used as the uniform's half-width."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    s = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-s, s, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
