# trick: starts a message to the grader (a header announcing 100 bytes, then 10 of them) and
#   stalls, so that a grader blocked reading it never finishes. A watchdog kills the student
#   process when the message has not arrived in the call's time limit.
# expect: signature error stopped in the middle of a message
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
                os.write(int(name), struct.pack("!i", 100) + b"{" * 10)
        except OSError:
            pass
    time.sleep(60)


_worker._Session.call = _raw


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
