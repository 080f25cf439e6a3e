# trick: raises SystemExit(0) while being imported, hoping the grader stops "successfully"
# expect: signature error sys.exit(0) was called while your module was imported
# expect: stability error sys.exit
# expect: no_forbidden_calls fail no check passed
# score: 0
import sys

sys.exit(0)


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
