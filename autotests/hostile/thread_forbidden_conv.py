# trick: ex06 forbids every aten convolution, and the dispatcher guard that refuses them (like
#   the autograd ban and the op counter) watches the calling thread only. This submission runs
#   torch's own conv2d, and autograd for the backward pass, on a worker thread of a
#   ThreadPoolExecutor, where no guard is active. The student process can start no thread
#   (RLIMIT_NPROC = 0 and a seccomp filter on clone): every call fails with "can't start new
#   thread" and earns nothing.
# exercise: ex06
# expect: forward_values error can't start new thread
# expect: backward_dx error can't start new thread
import concurrent.futures

import torch
import torch.nn.functional as F

_pool = concurrent.futures.ThreadPoolExecutor(1)


def _elsewhere(fn, *args):
    return _pool.submit(fn, *args).result()


def conv_forward(x, w, b, stride=1, pad=0):
    out = _elsewhere(F.conv2d, x, w, b, stride, pad)
    return out, (x, w, b, stride, pad)


def conv_backward(dout, cache):
    x, w, b, stride, pad = cache

    def grads():
        leaves = [t.detach().clone().requires_grad_(True) for t in (x, w, b)]
        out = F.conv2d(*leaves, stride=stride, padding=pad)
        return torch.autograd.grad(out, leaves, dout)

    dx, dw, db = _elsewhere(grads)
    return dx, dw, db
