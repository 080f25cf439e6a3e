# source: https://github.com/Yorko/stanford_cs231n_2019/blob/a8cc3bff356579f5eafa80b69ad4d953b25b4c1a/cs231n/rnn_layers.py
# verdict: lstm_step_forward correct
# verdict: lstm_step_backward wrong: dnext_c += ... writes the total cell gradient into the caller's dnext_c (values right)
# expect: upstream_untouched fail changed its input `dnext_c` in place
"""CS231n 2019 LSTM step. Every formula is right, but the backward accumulates into its argument
(dnext_c += dnext_h * o * (1 - tanh(next_c)**2)): the caller's upstream gradient changes, which
breaks an RNN that still needs dnext_c. The gradients it returns are right.
"""
from __future__ import print_function, division
from builtins import range
import numpy as np


# ---- copied verbatim from Yorko/stanford_cs231n_2019 cs231n/rnn_layers.py (commit a8cc3bff35) ----

def sigmoid(x):
    """
    A numerically stable version of the logistic sigmoid function.
    """
    pos_mask = (x >= 0)
    neg_mask = (x < 0)
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """
    Forward pass for a single timestep of an LSTM.

    The input data has dimension D, the hidden state has dimension H, and we use
    a minibatch size of N.

    Note that a sigmoid() function has already been provided for you in this file.

    Inputs:
    - x: Input data, of shape (N, D)
    - prev_h: Previous hidden state, of shape (N, H)
    - prev_c: previous cell state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H)
    - Wh: Hidden-to-hidden weights, of shape (H, 4H)
    - b: Biases, of shape (4H,)

    Returns a tuple of:
    - next_h: Next hidden state, of shape (N, H)
    - next_c: Next cell state, of shape (N, H)
    - cache: Tuple of values needed for backward pass.
    """
    #############################################################################
    # TODO: Implement the forward pass for a single timestep of an LSTM.        #
    # You may want to use the numerically stable sigmoid implementation above.  #
    #############################################################################

    N, H = prev_h.shape

    # activations
    A = x.dot(Wx) + prev_h.dot(Wh) + b

    # gates
    input_gate, forget_gate = sigmoid(A[:, :H]), sigmoid(A[:, H:2*H])
    output_gate, block_gate = sigmoid(A[:, 2*H:3*H]), np.tanh(A[:, 3*H:])

    # next cell state
    next_c = forget_gate * prev_c + input_gate * block_gate

    # next hidden state
    next_h = output_gate * np.tanh(next_c)

    cache = (input_gate, forget_gate, output_gate, block_gate, next_c, prev_c, Wx, Wh, x, prev_h)
    ##############################################################################
    #                               END OF YOUR CODE                             #
    ##############################################################################

    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """
    Backward pass for a single timestep of an LSTM.

    Inputs:
    - dnext_h: Gradients of next hidden state, of shape (N, H)
    - dnext_c: Gradients of next cell state, of shape (N, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data, of shape (N, D)
    - dprev_h: Gradient of previous hidden state, of shape (N, H)
    - dprev_c: Gradient of previous cell state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, 4H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, 4H)
    - db: Gradient of biases, of shape (4H,)
    """
    #############################################################################
    # TODO: Implement the backward pass for a single timestep of an LSTM.       #
    #                                                                           #
    # HINT: For sigmoid and tanh you can compute local derivatives in terms of  #
    # the output value from the nonlinearity.                                   #
    #############################################################################

    input_gate, forget_gate, output_gate, block_gate, next_c, prev_c, Wx, Wh, x, prev_h = cache

    # there's one more gradient of loss coming from the next hidden state
    dnext_c += dnext_h * output_gate * (1 - np.tanh(next_c) ** 2)

    # loss grad w.r.t. to previous cell state
    dprev_c = dnext_c * forget_gate

    # loss grad w.r.t. to input gate
    grad_input = dnext_c * block_gate

    # loss grad w.r.t. to forget gate
    grad_forget = dnext_c * prev_c

    # loss grad w.r.t. to output gate
    grad_output = dnext_h * np.tanh(next_c)

    # loss grad w.r.t. to block gate
    grad_block = dnext_c * input_gate

    # loss grad w.r.t. to input gate activations
    grad_a_i = grad_input * input_gate * (1 - input_gate)

    # loss grad w.r.t. to forget gate activations
    grad_a_f = grad_forget * forget_gate * (1 - forget_gate)

    # loss grad w.r.t. to output gate activations
    grad_a_o = grad_output * output_gate * (1 - output_gate)

    # loss grad w.r.t. to block gate activations
    grad_a_g = grad_block * (1 - block_gate ** 2)

    # loss grad w.r.t. to activations
    grad_a = np.concatenate([grad_a_i, grad_a_f, grad_a_o, grad_a_g], axis=1)

    # loss grad w.r.t. to input data
    dx = grad_a.dot(Wx.T)

    # loss grad w.r.t. to Wx
    dWx = x.T.dot(grad_a)

    # loss grad w.r.t. to previous hidden state
    dprev_h = grad_a.dot(Wh.T)

    # loss grad w.r.t. to Wx
    dWh = prev_h.T.dot(grad_a)

    # loss grad w.r.t. to biases
    db = grad_a.sum(axis=0)

    ##############################################################################
    #                               END OF YOUR CODE                             #
    ##############################################################################

    return dx, dprev_h, dprev_c, dWx, dWh, db


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
import torch  # noqa: E402 - the wrapper's own import

_their_forward, _their_backward = lstm_step_forward, lstm_step_backward


def _np(t):
    """A numpy view of a CPU tensor (no copy: in-place writes reach the caller, as theirs would)."""
    return t.detach().cpu().numpy()


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    next_h, next_c, cache = _their_forward(_np(x), _np(prev_h), _np(prev_c), _np(Wx), _np(Wh),
                                           _np(b))
    return torch.from_numpy(next_h).to(x.device), torch.from_numpy(next_c).to(x.device), cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    grads = _their_backward(_np(dnext_h), _np(dnext_c), cache)
    return tuple(torch.from_numpy(g).to(dnext_h.device) for g in grads)
