# trick: the graded functions never return (a busy loop, then a sleep that ignores nothing)
# expect: signature error did not finish within 2 s during the call
# expect: sigmoid_grad_numeric error time budget of 5 s
# score: 0
import time


def sigmoid(z):
    while True:
        pass


def sigmoid_grad(z):
    while True:
        time.sleep(1)
