# expect: no_forbidden_calls fail requires_grad_
# expect: backward_weights fail autograd
# The backward pass re-runs the forward on leaves that require grad and calls torch.autograd.grad.
import torch


def rnn_forward(x, h0, Wx, Wh, b):
    states, prev = [], h0
    for t in range(x.shape[1]):
        prev = torch.tanh(x[:, t] @ Wx + prev @ Wh + b)
        states.append(prev)
    return torch.stack(states, dim=1), (x, h0, Wx, Wh, b)


def rnn_backward(dh, cache):
    leaves = [t.detach().clone().requires_grad_(True) for t in cache]
    h, _ = rnn_forward(*leaves)
    return tuple(torch.autograd.grad((h * dh).sum(), leaves))


def clip_grad_norm(grads, max_norm):
    total = torch.sqrt(sum(torch.sum(g ** 2) for g in grads))
    coef = min(1.0, max_norm / (float(total) + 1e-6))
    return [g * coef for g in grads], float(total)
