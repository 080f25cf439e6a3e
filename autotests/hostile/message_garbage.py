# trick: answers with well-framed garbage: random bytes, and a JSON header nested 100000 deep
#   (which makes a naive JSON reader raise RecursionError, a crash a grader may not catch).
#   Both are malformed messages: an error for the check, nothing more.
# expect: signature error malformed message
# expect: sigmoid_grad_values error malformed message
# score: 0
import os
import stat
import struct
import time

_worker = getattr(os, "s" + "ys").modules["grader.runner.worker"]


def _raw(self, req):
    if req["fn"] == "sigmoid":
        body = os.urandom(512)
    else:
        header = b"[" * 100000 + b"]" * 100000
        body = struct.pack("<Q", len(header)) + header
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                os.write(int(name), struct.pack("!i", len(body)) + body)
        except OSError:
            pass
    time.sleep(60)


_worker._Session.call = _raw


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
