# expect: no_forbidden_calls fail torch.nn.LSTMCell
# expect: forward_next_c fail forbidden operator
# Uses PyTorch's module for the forward (and autograd for the backward).
import torch
from torch import nn


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    cell = nn.LSTMCell(x.shape[1], H).to(x)
    order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
    with torch.no_grad():
        cell.weight_ih.copy_(Wx[:, order].T)
        cell.weight_hh.copy_(Wh[:, order].T)
        cell.bias_ih.copy_(b[order])
        cell.bias_hh.zero_()
    next_h, next_c = cell(x, (prev_h, prev_c))
    return next_h.detach(), next_c.detach(), (cell, x, prev_h, prev_c, next_h, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    cell, x, prev_h, prev_c, next_h, next_c = cache
    raise NotImplementedError
