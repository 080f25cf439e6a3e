# trick: edits the grader's own files to pass later exercises: adds a module to the installed
#   package's exercises (and would rewrite checks/compare.py). Under root, student code runs as
#   'nobody', for whom the grader's files are read-only and the exercises folder is covered by an
#   empty file system. Under one user the files are writable: install dlgrade read-only for the
#   grading user, or grade in a container (docs/security.md); the test does not try it there.
# mode: drop
# expect: sigmoid_values fail is wrong
import numpy as np

try:
    with open("{{GRADER_PKG}}/exercises/ex99_pwned.py", "w") as fh:
        fh.write("raise SystemExit('the grader was modified')\n")
    with open("{{SHARED}}/wrote_grader", "w") as fh:
        fh.write("wrote into the grader's package")
except OSError:
    pass


def sigmoid(z):
    return np.tanh(z)


def sigmoid_grad(z):
    return 1 - np.tanh(z) ** 2
