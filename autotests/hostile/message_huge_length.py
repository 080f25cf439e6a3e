# trick: writes straight to the pipe to the grader a message header announcing 2 GB, then waits,
#   hoping the grader allocates it or waits for ever. Messages over 256 MB are refused at the header.
# expect: signature error larger than 256 MB
# expect: sigmoid_values error larger than 256 MB
# score: 0
import os
import stat
import struct
import time

_worker = getattr(os, "s" + "ys").modules["grader.runner.worker"]


def _raw(self, req):
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                os.write(int(name), struct.pack("!i", 0x7FFFFFFF) + b"\0" * 64)
        except OSError:
            pass
    time.sleep(60)


_worker._Session.call = _raw


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
