# expect: rng_reproducible fail does not depend on rng
# expect: global_rng_untouched pass
# expect: uniform_distribution pass
"""Wrong: ignores rng and makes a generator with a fixed seed (every layer gets the same W)."""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    rng = np.random.default_rng(0)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    rng = np.random.default_rng(0)
    return rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
