# trick: a wrong sigmoid that forges the reports: it writes a full-marks JSON report and a
#   Gradescope results.json to the paths given on the command line (found in the grader's command
#   line, here filled in), and results.json / report.json into its working directory, at import
#   and again at every call. The grader writes its reports after grading, replacing the forgeries,
#   and student code runs in a fresh empty folder, so relative paths reach nothing.
# expect: sigmoid_values fail is wrong
# expect: sigmoid_grad_values fail is wrong
import json

import numpy as np

FORGED = {"forged": True, "dlgrade_version": "0.1.0", "seed": 7, "device": "cpu", "score": 33.0,
          "max_score": 33.0, "exercises": [], "tests": []}


def _forge():
    for target in ("{{REPORT}}", "{{GRADESCOPE}}", "results.json", "report.json"):
        try:
            with open(target, "w") as fh:
                json.dump(FORGED, fh)
        except OSError:
            pass


_forge()


def sigmoid(z):
    _forge()
    return np.tanh(z)


def sigmoid_grad(z):
    _forge()
    return 1 - np.tanh(z) ** 2
