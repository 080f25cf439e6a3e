# source: https://github.com/AKSoo/CS231n-2017/blob/07e1861c98100010f9441c3ed4d1116408d7743c/assignment3/cs231n/rnn_layers.py
# verdict: rnn_forward correct
# verdict: rnn_backward correct
# verdict: clip_grad_norm absent: this repository's assignment has no clip_grad_norm
# expect: backward_through_time pass
# expect: backward_saturated pass
import numpy as np
import torch


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """
    Run the forward pass for a single timestep of a vanilla RNN that uses a tanh
    activation function.

    The input data has dimension D, the hidden state has dimension H, and we use
    a minibatch size of N.

    Inputs:
    - x: Input data for this timestep, of shape (N, D).
    - prev_h: Hidden state from previous timestep, of shape (N, H)
    - Wx: Weight matrix for input-to-hidden connections, of shape (D, H)
    - Wh: Weight matrix for hidden-to-hidden connections, of shape (H, H)
    - b: Biases of shape (H,)

    Returns a tuple of:
    - next_h: Next hidden state, of shape (N, H)
    - cache: Tuple of values needed for the backward pass.
    """
    f = prev_h.dot(Wh) + x.dot(Wx) + b
    next_h = np.tanh(f)

    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """
    Backward pass for a single timestep of a vanilla RNN.

    Inputs:
    - dnext_h: Gradient of loss with respect to next hidden state
    - cache: Cache object from the forward pass

    Returns a tuple of:
    - dx: Gradients of input data, of shape (N, D)
    - dprev_h: Gradients of previous hidden state, of shape (N, H)
    - dWx: Gradients of input-to-hidden weights, of shape (D, H)
    - dWh: Gradients of hidden-to-hidden weights, of shape (H, H)
    - db: Gradients of bias vector, of shape (H,)
    """
    x, prev_h, Wx, Wh, next_h = cache

    df = dnext_h * (1 - next_h**2) # N,H

    db = np.sum(df, axis=0)
    dx = df.dot(Wx.T)
    dprev_h = df.dot(Wh.T)
    dWx = x.T.dot(df)
    dWh = prev_h.T.dot(df)

    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """
    Run a vanilla RNN forward on an entire sequence of data. We assume an input
    sequence composed of T vectors, each of dimension D. The RNN uses a hidden
    size of H, and we work over a minibatch containing N sequences. After running
    the RNN forward, we return the hidden states for all timesteps.

    Inputs:
    - x: Input data for the entire timeseries, of shape (N, T, D).
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Weight matrix for input-to-hidden connections, of shape (D, H)
    - Wh: Weight matrix for hidden-to-hidden connections, of shape (H, H)
    - b: Biases of shape (H,)

    Returns a tuple of:
    - h: Hidden states for the entire timeseries, of shape (N, T, H).
    - cache: Values needed in the backward pass
    """
    x = x.transpose(1, 0, 2)
    T = x.shape[0]
    N, H = h0.shape

    h = np.zeros((T, N, H))
    cache = [None] * T

    prev_h = h0
    for t in range(T):
        h[t], cache[t] = rnn_step_forward(x[t], prev_h, Wx, Wh, b)
        prev_h = h[t]

    h = h.transpose(1, 0, 2)
    return h, cache


def rnn_backward(dh, cache):
    """
    Compute the backward pass for a vanilla RNN over an entire sequence of data.

    Inputs:
    - dh: Upstream gradients of all hidden states, of shape (N, T, H)

    Returns a tuple of:
    - dx: Gradient of inputs, of shape (N, T, D)
    - dh0: Gradient of initial hidden state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of biases, of shape (H,)
    """
    dh = dh.transpose(1, 0, 2)
    T, N, H = dh.shape
    D = cache[0][0].shape[1]

    dx = np.zeros((T, N, D))
    dcurr_h = np.zeros((N, H))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)

    for t in reversed(range(T)):
        dx[t], dcurr_h, dcurr_Wx, dcurr_Wh, dcurr_b = rnn_step_backward(
                dcurr_h + dh[t], cache[t])
        dWx += dcurr_Wx
        dWh += dcurr_Wh
        db += dcurr_b

    dx = dx.transpose(1, 0, 2)
    dh0 = dcurr_h
    return dx, dh0, dWx, dWh, db


# -- wrapper (not the author's): the contract's API around the author's numpy functions ---------
_author_rnn_forward, _author_rnn_backward = rnn_forward, rnn_backward


def rnn_forward(x, h0, Wx, Wh, b):
    h, cache = _author_rnn_forward(*(t.cpu().numpy() for t in (x, h0, Wx, Wh, b)))
    return torch.from_numpy(h).to(x.device), cache


def rnn_backward(dh, cache):
    grads = _author_rnn_backward(dh.cpu().numpy(), cache)
    return tuple(torch.from_numpy(g).to(dh.device) for g in grads)
