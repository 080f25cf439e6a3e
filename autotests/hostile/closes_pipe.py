# trick: closes its end of the pipe to the grader in the middle of a call and carries on living
#   (sleeping), hoping the grader waits for an answer that cannot come. The grader sees the pipe
#   end, reports the call as an error and kills the process.
# expect: signature error closed its connection
# expect: sigmoid_values error closed its connection
# score: 0
import os
import stat
import time


def sigmoid(z):
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                os.close(int(name))
        except OSError:
            pass
    time.sleep(60)


def sigmoid_grad(z):
    return sigmoid(z)
