# expect: test_mode fail units are dropped at test time
# expect: keep_fraction pass
"""Wrong: ignores `train`, so the test pass drops units too."""
import numpy as np


def dropout_forward(x, p, train, rng):
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p), (mask, p)


def dropout_backward(dout, cache):
    mask, p = cache
    return dout * mask / (1 - p)
