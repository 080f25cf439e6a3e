# expect: test_mode fail non-inverted dropout
# expect: backward pass
# expect: keep_fraction pass
"""Wrong forward, correct backward (issue 12): the forward scales by 1 - p at test time, the
backward is right in both modes. The backward's verdict comes from the specification (dx = dout
in test mode), never from the forward's output, so the backward passes."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if train:
        mask = (rng.random(x.shape) >= p) / (1 - p)
        return x * mask, (mask, True)
    return x * (1 - p), (None, False)


def dropout_backward(dout, cache):
    mask, train = cache
    return dout * mask if train else dout.copy()
