# source: https://github.com/m-daichi1219/study-deep-learning2/blob/c7eea3b5fd2ebd871ff39b3d69e653625ae58ab7/ch06/clip_grads.py
# verdict: clip_grad_norm wrong: scales the caller's arrays in place (no new tensors) and returns max_norm where the total norm is due
# verdict: rnn_forward absent: this repository's assignment has no rnn_forward
# verdict: rnn_backward absent: this repository's assignment has no rnn_backward
# expect: clip_norm fail total_norm is max_norm
# expect: clip_untouched fail returns new tensors
# expect: clip_values pass
# (only clip_grads is the author's; the file has no RNN, so the RNN checks are unconstrained)
import numpy as np
import torch


def clip_grads(grads, max_norm):
    total_norm = 0
    for grad in grads:
        total_norm += np.sum(grad ** 2)

    total_norm = np.sqrt(total_norm)
    rate = max_norm / (total_norm + 1e-6)
    if rate < 1:
        for grad in grads:
            grad *= rate

    return(grads, max_norm)


# -- wrapper (not the author's): the contract's API around the author's in-place numpy function --
def clip_grad_norm(grads, max_norm):
    arrays = [g.cpu().numpy() for g in grads]      # numpy views of the caller's tensors
    clipped, norm = clip_grads(arrays, max_norm)
    return [torch.from_numpy(a).to(g.device) for a, g in zip(clipped, grads)], norm
