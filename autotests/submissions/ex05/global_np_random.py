# expect: global_rng_untouched fail np.random
# expect: rng_reproducible fail does not come only from rng
# expect: uniform_distribution pass
"""Wrong: the global numpy generator instead of rng."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return np.random.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    return gain * np.sqrt(2.0 / (fan_in + fan_out)) * np.random.randn(fan_in, fan_out)
