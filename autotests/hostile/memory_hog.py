# trick: exhausts memory: sigmoid asks for 50 GB at once, sigmoid_grad grows a list of arrays
#   until something gives. RLIMIT_AS turns both into a MemoryError in the student process; the
#   grader and the other exercise are unaffected.
# expect: signature error MemoryError
# expect: sigmoid_values error more memory than dlgrade allows
# expect: sigmoid_grad_values error MemoryError
# score: 0
import numpy as np


def sigmoid(z):
    block = np.ones(50 * 10**9 // 8)
    return block[: z.size].reshape(z.shape)


def sigmoid_grad(z):
    hoard = []
    while True:
        hoard.append(np.empty(2**24))
