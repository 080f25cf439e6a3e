# trick: the graded functions call sys.exit(0), hoping to end the test run with status 0
# expect: signature error called sys.exit()
# expect: sigmoid_values error called sys.exit()
# expect: sigmoid_grad_values error called sys.exit()
# expect: no_forbidden_calls fail no check passed
# score: 0
import sys


def sigmoid(z):
    sys.exit(0)


def sigmoid_grad(z):
    sys.exit(0)
