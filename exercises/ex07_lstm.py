"""Exercise 07 -- one step of an LSTM cell, forward and backward.

What this exercise teaches
--------------------------
A Long Short-Term Memory cell carries a cell state c that is changed only by
elementwise gating, which lets gradients flow over many time steps. From the
input x and the previous hidden state one affine map produces the
pre-activations of four gates at once::

    a = x @ Wx + prev_h @ Wh + b          (N, 4H)
    a = [a_i | a_f | a_o | a_g]           four blocks of H columns, in this order
    i = sigmoid(a_i)   input gate
    f = sigmoid(a_f)   forget gate (Gers et al. 2000)
    o = sigmoid(a_o)   output gate
    g = tanh(a_g)      candidate cell values
    next_c = f * prev_c + i * g
    next_h = o * tanh(next_c)

Note the gate order i, f, o, g (CS231n's); PyTorch's built-in LSTM cell
stacks its weights as i, f, g, o. The backward pass is the chain rule through these
elementwise operations, using sigmoid'(z) = s(1 - s) and tanh'(z) = 1 - t**2
expressed with the saved outputs so that saturated gates stay finite.

The layer follows the CS231n ``rnn_layers.py`` style: forward returns the
outputs and a cache, backward takes the upstream gradients and the cache.

Source
------
S. Hochreiter and J. Schmidhuber, "Long Short-Term Memory", Neural
Computation 9(8), 1735-1780 (1997); F. A. Gers, J. Schmidhuber and F. Cummins,
"Learning to Forget: Continual Prediction with LSTM", Neural Computation
12(10), 2451-2471 (2000) (the forget gate).
"""

import torch


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Forward pass for a single time step of an LSTM.

    Formula::

        a      = x @ Wx + prev_h @ Wh + b,  split into a_i, a_f, a_o, a_g
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);  g = tanh(a_g)
        next_c = f * prev_c + i * g
        next_h = o * tanh(next_c)

    Args:
        x: torch.Tensor (N, D), float64 on CPU or float32 on CUDA -- input.
        prev_h: torch.Tensor (N, H) -- previous hidden state.
        prev_c: torch.Tensor (N, H) -- previous cell state.
        Wx: torch.Tensor (D, 4H) -- input-to-hidden weights.
        Wh: torch.Tensor (H, 4H) -- hidden-to-hidden weights.
        b: torch.Tensor (4H,) -- biases.
        All on the same device and dtype; none is modified.

    Returns:
        (next_h, next_c, cache):
            next_h: torch.Tensor (N, H) -- next hidden state.
            next_c: torch.Tensor (N, H) -- next cell state.
            cache: tuple of the values needed by ``lstm_step_backward``.

    Raises:
        Nothing.

    Source: Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", with
    the forget gate of Gers, Schmidhuber & Cummins (2000).

    Hint: compute all four gates with one matrix product, then slice the
    columns ``[:H]``, ``[H:2H]``, ``[2H:3H]``, ``[3H:]``; torch.sigmoid and
    torch.tanh are stable for inputs of any size.
    """
    # TODO: compute the four gate pre-activations with one affine map, apply sigmoid/tanh, and update the cell and hidden states
    raise NotImplementedError('compute the four gate pre-activations with one affine map, apply sigmoid/tanh, and update the cell and hidden states')


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass for a single time step of an LSTM.

    Formula (``*`` is elementwise)::

        dc      = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)
        do      = dnext_h * tanh(next_c)
        di, df, dg = dc * g, dc * prev_c, dc * i
        dprev_c = dc * f
        da      = [di * i(1-i) | df * f(1-f) | do * o(1-o) | dg * (1-g**2)]
        dx      = da @ Wx.T      dprev_h = da @ Wh.T
        dWx     = x.T @ da       dWh     = prev_h.T @ da      db = sum_N da

    Args:
        dnext_h: torch.Tensor (N, H), float64 on CPU or float32 on CUDA --
            gradient of the loss with respect to next_h. Not modified.
        dnext_c: torch.Tensor (N, H) -- gradient with respect to next_c.
            Not modified.
        cache: tuple from ``lstm_step_forward``.

    Returns:
        (dx, dprev_h, dprev_c, dWx, dWh, db):
            dx: torch.Tensor (N, D)
            dprev_h: torch.Tensor (N, H)
            dprev_c: torch.Tensor (N, H)
            dWx: torch.Tensor (D, 4H)
            dWh: torch.Tensor (H, 4H)
            db: torch.Tensor (4H,)

    Raises:
        Nothing.

    Source: Hochreiter & Schmidhuber (1997); Gers, Schmidhuber & Cummins
    (2000).

    Hint: next_c receives gradient both directly (dnext_c) and through
    next_h; write ``dc = dnext_c + ...`` rather than ``dnext_c += ...`` so the
    caller's tensor is left unchanged.
    """
    # TODO: backpropagate through next_h and next_c to the gates, then through the affine map to x, prev_h, Wx, Wh and b
    raise NotImplementedError('backpropagate through next_h and next_c to the gates, then through the affine map to x, prev_h, Wx, Wh and b')
