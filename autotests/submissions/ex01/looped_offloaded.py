# expect: performance error Resource temporarily unavailable
# expect: sigmoid_values error BlockingIOError
# expect: no_forbidden_calls fail os.fork
# Hostile: an elementwise Python loop run in a forked child process, so that the CPU time of
# the graded process stays small while it waits for the child's answer on a pipe. The student
# process can start no process (docs/security.md, class 4): the fork fails with EAGAIN, so
# every call errors; os.fork is also flagged by the static scan.
import math
import os

import numpy as np


def _looped(z):
    out = np.empty_like(z)
    for i, v in np.ndenumerate(z):
        out[i] = 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    return out


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child does the work
        os.close(read)
        data = _looped(z).tobytes()
        view = memoryview(data)
        while view:
            view = view[os.write(write, view):]
        os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return np.frombuffer(b"".join(chunks), dtype=np.float64).reshape(z.shape).copy()


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)
