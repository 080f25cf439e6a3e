"""Exercise 13 -- a recurrent network through time, and gradient clipping.

What this exercise teaches
--------------------------
A vanilla (Elman) recurrent network reads a sequence x_1..x_T one step at a
time and keeps a hidden state that depends on everything read so far::

    h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b),   t = 1..T,   h_0 given

The same weights Wx, Wh, b are used at every step. The backward pass,
*backpropagation through time*, runs the steps in reverse: the gradient
reaching h_t is the upstream gradient dh[:, t] of that step PLUS the gradient
flowing back from step t+1 through h_t @ Wh. Because every step multiplies
the gradient by Wh.T and by tanh' <= 1, it shrinks (vanishes) or grows
(explodes) exponentially with the distance in time. Gradient clipping keeps
exploding gradients usable: when the norm of all gradients together exceeds
max_norm, they are all scaled down by the same factor, which keeps the
direction of the update.

The layer follows the CS231n ``rnn_layers.py`` style: the forward pass
returns ``(h, cache)`` and the backward pass takes ``(dh, cache)``. Only
plain tensor operations are allowed: no built-in recurrent layers, none of
PyTorch's functional layers, no built-in clipping, no automatic
differentiation.

Sources
-------
J. L. Elman, "Finding structure in time", Cognitive Science 14(2),
179-211 (1990) (the recurrent network); P. J. Werbos, "Backpropagation
through time: what it does and how to do it", Proc. IEEE 78(10),
1550-1560 (1990); R. Pascanu, T. Mikolov and Y. Bengio, "On the difficulty
of training recurrent neural networks", ICML 2013 (gradient norm clipping).
"""

import torch


def rnn_forward(x, h0, Wx, Wh, b):
    """Forward pass of a vanilla RNN over a whole sequence.

    Formula::

        h_t = tanh(x[:, t] @ Wx + h_{t-1} @ Wh + b)   for t = 1..T, with h_0 = h0

    Args:
        x: torch.Tensor (N, T, D), float64 on CPU or float32 on CUDA -- the
            input sequence. Not modified.
        h0: torch.Tensor (N, H) -- the initial hidden state.
        Wx: torch.Tensor (D, H) -- input-to-hidden weights.
        Wh: torch.Tensor (H, H) -- hidden-to-hidden weights.
        b: torch.Tensor (H,) -- biases.
        All on the same device and dtype; none is modified.

    Returns:
        (h, cache):
            h: torch.Tensor (N, T, H) -- the hidden states h_1..h_T
                (h[:, t] is the state after reading x[:, t]); finite for
                pre-activations of any size (tanh saturates at -1 and 1).
            cache: tuple ``(x, h0, Wx, Wh, h)`` for the backward pass.

    Raises:
        Nothing.

    Source: Elman (1990), "Finding structure in time".

    Hint: the input part x @ Wx + b does not depend on the previous state:
    compute it for every step with one matrix product before the loop over
    t; only h_{t-1} @ Wh has to wait for the previous step. Use torch.tanh,
    which is exact for inputs of any size.
    """
    # TODO: project every input step at once, then loop over time: each hidden state is tanh of the projected input plus the previous state times Wh
    raise NotImplementedError('project every input step at once, then loop over time: each hidden state is tanh of the projected input plus the previous state times Wh')


def rnn_backward(dh, cache):
    """Backward pass of a vanilla RNN: backpropagation through time.

    Formula, for t = T..1 (a_t the pre-activation, dnext_T = 0)::

        dcur   = dh[:, t] + dnext              the upstream gradient plus the
                                               one from step t+1
        da_t   = dcur * (1 - h_t**2)           tanh'(a_t) with the saved h_t
        dnext  = da_t @ Wh.T                   what h_{t-1} receives
        dx[:, t] = da_t @ Wx.T
        dWx += x_t.T @ da_t;  dWh += h_{t-1}.T @ da_t;  db += sum_n da_t
        dh0 = dnext after step 1

    Args:
        dh: torch.Tensor (N, T, H), float64 on CPU or float32 on CUDA -- the
            upstream gradients of every hidden state h_1..h_T. Not modified.
        cache: tuple from ``rnn_forward``; left intact (a second call on the
            same cache gives the same result).

    Returns:
        (dx, dh0, dWx, dWh, db): gradients shaped like x (N, T, D), h0 (N, H),
            Wx (D, H), Wh (H, H) and b (H,), on dh's device and dtype.

    Raises:
        Nothing.

    Source: Werbos (1990), "Backpropagation through time: what it does and
    how to do it".

    Hint: only the recursion for dnext needs a loop over time (in reverse).
    Keep the da_t of every step in one (N, T, H) tensor; then dx, dWx, dWh
    and db are each one matrix product or sum over all steps, with
    h_prev = [h0, h_1, ..., h_{T-1}] (torch.cat) for dWh.
    """
    # TODO: loop over time in reverse, adding the gradient from the next step to dh[:, t]; then compute dx and the weight gradients from the gradients of the pre-activations
    raise NotImplementedError('loop over time in reverse, adding the gradient from the next step to dh[:, t]; then compute dx and the weight gradients from the gradients of the pre-activations')


def clip_grad_norm(grads, max_norm):
    """Clip a list of gradients by their global 2-norm.

    Formula (as torch.nn.utils.clip_grad_norm_ computes it)::

        total_norm = sqrt(sum over every tensor g and element i of g_i**2)
        coef       = min(1, max_norm / (total_norm + 1e-6))
        clipped    = [g * coef for g in grads]

    One norm over all tensors together: clipping each tensor by its own
    norm would change the direction of the update.

    Args:
        grads: list of torch.Tensor, any shapes, float64 on CPU or float32 on
            CUDA, all on one device. Not modified.
        max_norm: float > 0 -- the largest norm the clipped gradients may have.

    Returns:
        (clipped, total_norm):
            clipped: list of NEW torch.Tensor, shaped like grads, in the same
                order (unchanged values when total_norm + 1e-6 <= max_norm).
            total_norm: float -- the norm of all the elements of grads
                together, before clipping (a 0-d tensor is accepted).

    Raises:
        Nothing.

    Source: Pascanu, Mikolov & Bengio (2013), "On the difficulty of training
    recurrent neural networks", algorithm 1; the 1e-6 is PyTorch's.
    """
    # TODO: compute one 2-norm over the elements of all the tensors, then multiply every tensor by min(1, max_norm / (total_norm + 1e-6)) into new tensors
    raise NotImplementedError('compute one 2-norm over the elements of all the tensors, then multiply every tensor by min(1, max_norm / (total_norm + 1e-6)) into new tensors')
