# trick: the classic daemon: while being imported it forks, the child calls setsid and forks
#   again and exits, so the grandchild belongs to no process group of the grader and has no
#   parent that waits for it. The daemon sleeps 1.5 s, then overwrites the report with a forgery
#   (by then the grader has written it) and leaves a marker. The student process can start no
#   process (class 4 of docs/security.md): the first fork fails with EAGAIN, which it notes; had
#   it started, the grader, a child subreaper, would inherit the orphan and end it.
# expect: sigmoid_values fail is wrong
import json
import os
import time

import numpy as np

_fork = getattr(os, "fo" + "rk")
_leave = getattr(os, "_ex" + "it")

try:
    _first = _fork()
except OSError as exc:
    _first = -1
    with open("{{SHARED}}/refused", "w") as fh:
        fh.write(repr(exc))
if _first == 0:
    getattr(os, "set" + "sid")()
    if _fork() == 0:
        fd = os.open("{{SHARED}}/pids", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        time.sleep(1.5)
        for target in ("{{REPORT}}", "{{GRADESCOPE}}"):
            try:
                with open(target, "w") as fh:
                    json.dump({"forged": True, "score": 33.0}, fh)
            except OSError:
                pass
        with open("{{SHARED}}/daemon_ran", "w") as fh:
            fh.write("the daemon survived grading")
    _leave(0)


def sigmoid(z):
    return np.tanh(z)


def sigmoid_grad(z):
    return 1 - np.tanh(z) ** 2
