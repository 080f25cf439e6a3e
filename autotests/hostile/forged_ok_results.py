# trick: patches dlgrade's worker inside its own process (reached through sys.modules) so that
#   every call "succeeds" without running the student's code: the answer claims ok, carries arrays
#   of the right shape and dtype (all 0.5) and hands the inputs back unchanged. The grader judges
#   only the values, computed against its own oracle, so the forgery earns what 0.5 everywhere
#   earns: the signature and the untouched inputs, nothing that needs correct numbers.
# perf
# expect: sigmoid_values fail is wrong
# expect: sigmoid_grad_values fail is wrong
# expect: stability fail is wrong
import os

import numpy as np

_worker = getattr(os, "s" + "ys").modules["grader.runner.worker"]


def _forged_call(self, req):
    args = [self.to_student(a) for a in req.get("args", [])]
    out = {"ok": True, "value": np.full(np.shape(args[0]), 0.5), "warnings": []}
    if req.get("inputs"):
        out["inputs"] = (args, {})
    return out


_worker._Session.call = _forged_call


def sigmoid(z):
    raise NotImplementedError


def sigmoid_grad(z):
    raise NotImplementedError
