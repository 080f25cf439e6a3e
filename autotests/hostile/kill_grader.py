# trick: finds the grader through /proc (its parent is dlgrade's fork server, whose parent is the
#   grader) and sends SIGSTOP, then SIGKILL, to both while being imported, so that no report is
#   ever written.
#   Running as another user (dlgrade under root runs student code as 'nobody') the kill is
#   refused. Under one user it succeeds: then there is no report and the exit status is not 0,
#   which a pipeline must treat as a failure (docs/security.md).
# grader-may-die
# expect: sigmoid_values fail is wrong
import os
import signal

import numpy as np

_kill = getattr(os, "ki" + "ll")


def _parent_of(pid):
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


_server = _parent_of(getattr(os, "getp" + "id")())
_grader = _parent_of(_server)
for _sig in (signal.SIGSTOP, signal.SIGKILL):
    for _pid in (_grader, _server):
        try:
            _kill(_pid, _sig)
        except OSError:
            pass


def sigmoid(z):
    return np.tanh(z)


def sigmoid_grad(z):
    return 1 - np.tanh(z) ** 2
