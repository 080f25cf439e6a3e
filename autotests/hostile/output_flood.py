# trick: floods output: sigmoid prints 1 GB, sigmoid_grad writes a 1 GB file beside the report.
#   RLIMIT_FSIZE stops both at the file-size limit (1 MB here) with "File too large"; neither the
#   disk nor the grader's log fills up.
# expect: sigmoid_values error output limit
# expect: sigmoid_grad_values error File too large
# score: 0
import sys

import numpy as np

CHUNK = "x" * 2**20


def sigmoid(z):
    for _ in range(1024):
        sys.stdout.write(CHUNK)
    return np.tanh(z)


def sigmoid_grad(z):
    with open("{{SHARED}}/big.bin", "w") as fh:
        for _ in range(1024):
            fh.write(CHUNK)
    return np.tanh(z)
