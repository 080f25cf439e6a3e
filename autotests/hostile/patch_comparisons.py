# trick: a wrong sigmoid (sign error) that patches every comparison it can reach - np.allclose,
#   np.isclose, np.array_equal, np.testing.assert_allclose/assert_array_almost_equal,
#   math.isclose, and any function of a loaded grader module - so that "everything is close".
#   The verdicts are computed in the grader's process, so none of it matters.
# expect: sigmoid_values fail is wrong
# expect: sigmoid_grad_values fail is wrong
# expect: stability fail is wrong
import math
import os

import numpy as np

_yes = lambda *a, **k: True  # noqa: E731
_none = lambda *a, **k: None  # noqa: E731
np.allclose = _yes
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = _yes
np.testing.assert_allclose = _none
np.testing.assert_array_almost_equal = _none
np.testing.assert_array_equal = _none
math.isclose = _yes
for _name, _mod in list(getattr(os, "s" + "ys").modules.items()):
    if _name.startswith("grader") and _mod is not None:
        for _attr in list(vars(_mod)):
            if callable(getattr(_mod, _attr)) and any(w in _attr for w in ("close", "equal", "expect", "error", "assert")):
                setattr(_mod, _attr, _none)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(np.clip(z, -700, 700)))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 + s)
