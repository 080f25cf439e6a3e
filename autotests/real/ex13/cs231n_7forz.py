# source: https://github.com/7forz/CS231n_assignments/blob/a3d5af2d6290b05ebb698c250e2bcab5154a4a1c/assignment3/cs231n/rnn_layers.py
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
    next_h, cache = None, None
    ##############################################################################
    # TODO: Implement a single forward step for the vanilla RNN. Store the next  #
    # hidden state and any values you need for the backward pass in the next_h   #
    # and cache variables respectively.                                          #
    ##############################################################################
    # tanh( b + W * prev_h + U * x )
    z = prev_h.dot(Wh) + x.dot(Wx) + b
    next_h = np.tanh(z)  # shape (N, H)
    cache = (prev_h, Wh, x, Wx, next_h)
    ##############################################################################
    #                               END OF YOUR CODE                             #
    ##############################################################################
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """
    Backward pass for a single timestep of a vanilla RNN.

    Inputs:
    - dnext_h: Gradient of loss with respect to next hidden state, shape (N, H)
    - cache: Cache object from the forward pass

    Returns a tuple of:
    - dx: Gradients of input data, of shape (N, D)
    - dprev_h: Gradients of previous hidden state, of shape (N, H)
    - dWx: Gradients of input-to-hidden weights, of shape (D, H)
    - dWh: Gradients of hidden-to-hidden weights, of shape (H, H)
    - db: Gradients of bias vector, of shape (H,)
    """
    dx, dprev_h, dWx, dWh, db = None, None, None, None, None
    ##############################################################################
    # TODO: Implement the backward pass for a single step of a vanilla RNN.      #
    #                                                                            #
    # HINT: For the tanh function, you can compute the local derivative in terms #
    # of the output value from tanh.                                             #
    ##############################################################################
    # dnext_h = dtanh(z) = 1-(tanh)^2(z)
    # z = prev_h.dot(Wh) + x.dot(Wx) + b
    prev_h, Wh, x, Wx, next_h = cache
    
    # gradient = local * upstream
    dz = (1 - next_h**2) * dnext_h  # shape (N, H)
    
    db = np.sum(dz, axis=0)
    
    dx = dz.dot(Wx.T)  # (N,H)*(H,D)=(N, D)
    dWx = (x.T).dot(dz)  # (D,N)*(N,H)=(D, H)
    
    dprev_h = dz.dot(Wh.T)   # (N, H)*(H,H)=(N, H)
    dWh = (prev_h.T).dot(dz)  # (H,N)*(N,H)=(H, H)
    ##############################################################################
    #                               END OF YOUR CODE                             #
    ##############################################################################
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
    h, cache = None, None
    ##############################################################################
    # TODO: Implement forward pass for a vanilla RNN running on a sequence of    #
    # input data. You should use the rnn_step_forward function that you defined  #
    # above. You can use a for loop to help compute the forward pass.            #
    ##############################################################################
    N, T, D = x.shape
    _, H = h0.shape
    h = np.zeros((N, T, H))
    
    # t=0, initial, input x of t=0, and h0
    h[:, 0, :], _ = rnn_step_forward(x[:, 0, :], h0, Wx, Wh, b)
    
    # for other t, input previous h, and new x
    for t in range(1, T):
        h[:, t, :], _ = rnn_step_forward(x[:, t, :], h[:, t-1, :], Wx, Wh, b)
    
    # function rnn_step_backward needs prev_h, Wh, x, Wx, next_h,
    # among which prev_h, next_h are included in h,
    # Wh, x, Wx are needed, too
    cache = (x, h0, Wh, Wx, b, h)
    ##############################################################################
    #                               END OF YOUR CODE                             #
    ##############################################################################
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
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    ##############################################################################
    # TODO: Implement the backward pass for a vanilla RNN running an entire      #
    # sequence of data. You should use the rnn_step_backward function that you   #
    # defined above. You can use a for loop to help compute the backward pass.   #
    ##############################################################################
    x, h0, Wh, Wx, b, h = cache  # x shape (N, T, D)
    _, H = h0.shape
    N, T, D = x.shape
    
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    dprev_h = np.zeros((N, H))
    
    for t in range(T-1, -1, -1):   # [T-1, T-2, ..., 0]
        # def rnn_step_backward(dnext_h, cache=(prev_h, Wh, x, Wx, next_h))
        #     return dx, dprev_h, dWx, dWh, db
        if t>0:
            prev_h = h[:, t-1, :]
        else:
            prev_h = h0
        
        dnext_h = dh[:, t, :] + dprev_h  # WHY ?????????????????????????????????
        dx[:, t, :], dprev_h, _dWx, _dWh, _db = rnn_step_backward(dnext_h,
                                            (prev_h, Wh, x[:, t, :], Wx, h[:, t, :]))  # input the cache
        dWx += _dWx
        dWh += _dWh
        db += _db
    dh0 = dprev_h
    ##############################################################################
    #                               END OF YOUR CODE                             #
    ##############################################################################
    return dx, dh0, dWx, dWh, db


# -- wrapper (not the author's): the contract's API around the author's numpy functions ---------
_author_rnn_forward, _author_rnn_backward = rnn_forward, rnn_backward


def rnn_forward(x, h0, Wx, Wh, b):
    h, cache = _author_rnn_forward(*(t.cpu().numpy() for t in (x, h0, Wx, Wh, b)))
    return torch.from_numpy(h).to(x.device), cache


def rnn_backward(dh, cache):
    grads = _author_rnn_backward(dh.cpu().numpy(), cache)
    return tuple(torch.from_numpy(g).to(dh.device) for g in grads)
