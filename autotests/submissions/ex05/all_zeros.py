# expect: uniform_bounds fail all weights are zero
# expect: normal_moments fail all weights are zero
# expect: rng_reproducible fail all zero
# expect: shape pass
"""Wrong: a placeholder that returns zeros of the right shape."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    return np.zeros((fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return np.zeros((fan_in, fan_out))
