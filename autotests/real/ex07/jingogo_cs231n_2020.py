# source: https://github.com/Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition/blob/14413a47c6c54c98c2a02a09c85fed747af296ba/cs231n/rnn_layers.py
# verdict: lstm_step_forward correct
# verdict: lstm_step_backward correct
"""CS231n 2020 LSTM step (gate order i, f, o, g, as the contract), with the course's numerically
stable sigmoid. The backward builds dnext_c + dnext_h * o * (1 - tanh(next_c)^2) into a new array
and stacks the gate gradients in the order i, f, o, g.
"""
from builtins import range
import numpy as np


# ---- copied verbatim from Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition cs231n/rnn_layers.py (commit 14413a47c6) ----

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
    next_h, next_c, cache = None, None, None
    #############################################################################
    # TODO: Implement the forward pass for a single timestep of an LSTM.        #
    # You may want to use the numerically stable sigmoid implementation above.  #
    #############################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    a = np.matmul(x,Wx) + np.matmul(prev_h,Wh) + b
    i, f, o, g =  np.split(a, 4, axis=1)
    i = sigmoid(i)
    f = sigmoid(f)
    o = sigmoid(o)
    g = np.tanh(g)
    next_c = f*prev_c + i*g
    next_h = o*np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, b, next_c, i, f, o, g)
    


    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
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
    dx, dprev_h, dprev_c, dWx, dWh, db = None, None, None, None, None, None
    #############################################################################
    # TODO: Implement the backward pass for a single timestep of an LSTM.       #
    #                                                                           #
    # HINT: For sigmoid and tanh you can compute local derivatives in terms of  #
    # the output value from the nonlinearity.                                   #
    #############################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    x, prev_h, prev_c, Wx, Wh, b, next_c, i, f, o, g = cache

    dnext_c = dnext_c + dnext_h*o*(1-np.tanh(next_c)**2)
    do = dnext_h*np.tanh(next_c)*o*(1-o)

    di = dnext_c*g*i*(1-i)
    df = dnext_c*prev_c*f*(1-f)    
    dg = dnext_c*i*(1-g**2)
    dprev_c = dnext_c*f

    da = np.concatenate((di,df,do,dg),axis=1)
    dx = np.matmul(da, Wx.transpose())
    dprev_h = np.matmul(da, Wh.transpose())
    dWx = np.matmul(x.transpose(), da)
    dWh = np.matmul(prev_h.transpose(), da)
    db = np.sum(da, axis=0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
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
