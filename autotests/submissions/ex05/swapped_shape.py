# expect: shape fail fan_in and fan_out are swapped
# expect: uniform_bounds pass
# expect: normal_distribution pass
"""Wrong: PyTorch's Linear layout (fan_out, fan_in) instead of the contract's (fan_in, fan_out)."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_out, fan_in))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_out, fan_in))
