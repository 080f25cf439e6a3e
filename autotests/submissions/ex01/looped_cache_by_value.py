# expect: performance fail too slow
# Hostile (issue 11, class 5): a correct elementwise loop behind a cache keyed by the bytes of z
# (and by id(z)). If every timed call of a block got the same inputs, all but the first would be
# answered from the cache and the loop would look vectorised. Every timed call gets inputs no
# call has seen (grader.checks.measure._student_block), so each one runs the loop.
import hashlib
import math

import numpy as np

_BY_VALUE: dict = {}
_BY_ID: dict = {}


def _loop(z, f):
    flat = z.ravel().tolist()
    return np.asarray([f(v) for v in flat]).reshape(z.shape)


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _cached(kind, z, f):
    key = (kind, hashlib.blake2b(np.ascontiguousarray(z).tobytes(), digest_size=16).digest())
    hit = _BY_ID.get((kind, id(z)))
    if hit is not None and hit[0] is z:
        return hit[1].copy()
    if key not in _BY_VALUE:
        _BY_VALUE[key] = _loop(z, f)
    _BY_ID[(kind, id(z))] = (z, _BY_VALUE[key])
    return _BY_VALUE[key].copy()


def sigmoid(z):
    return _cached("s", z, _sig)


def sigmoid_grad(z):
    return _cached("g", z, lambda v: _sig(v) * (1.0 - _sig(v)))
