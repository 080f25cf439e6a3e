"""Exercise 11 -- max pooling, forward and backward.

What this exercise teaches
--------------------------
A max-pooling layer slides a window of pool_height x pool_width over every
channel of every image, ``stride`` steps at a time, and keeps the largest
value of each window. It has no weights: it shrinks the feature maps and
makes them a little invariant to small shifts of the input.

The backward pass follows from the forward: an output is the value of one
input element (the window's maximum), so its upstream gradient goes to that
element, and every other element of the window gets nothing. When the
stride is smaller than the pool, windows overlap and one input element can
be the maximum of several windows: its gradient is the SUM of theirs.

Output size (no padding; Dumoulin & Visin, relationship 5 applied to pooling)::

    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride

The floor means that rows/columns after the last full window are never
read (their gradient is zero). This is what
``torch.nn.functional.max_pool2d(x, (pool_height, pool_width), stride)``
computes.

The layer follows the CS231n ``layers.py`` style: the forward pass returns
``(out, cache)`` and the backward pass takes ``(dout, cache)``. Only plain
tensor operations are allowed: none of PyTorch's functional layers (zero
padding aside), no built-in pooling, no automatic differentiation.

Sources
-------
Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
applied to document recognition", Proc. IEEE 86(11), 1998 (subsampling
layers); M. Ranzato, F. J. Huang, Y.-L. Boureau and Y. LeCun, "Unsupervised
learning of invariant feature hierarchies", CVPR 2007 (max pooling);
V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep
learning", arXiv:1603.07285 (2016), section 3 (pooling arithmetic).
"""

import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    """Forward pass of a max-pooling layer (no padding).

    Formula::

        out[n, c, i, j] = max over 0 <= p < pool_height, 0 <= q < pool_width of
                          x[n, c, i*stride + p, j*stride + q]

    Args:
        x: torch.Tensor (N, C, H, W), float64 on CPU or float32 on CUDA --
            the input. Not modified.
        pool_height: int >= 1, default 2 -- height of each window.
        pool_width: int >= 1, default 2 -- width of each window.
        stride: int >= 1, default 2 -- step between windows, the same in
            both directions; windows overlap when it is smaller than the pool.

    Returns:
        (out, cache):
            out: torch.Tensor (N, C, H_out, W_out) on x's device and dtype,
                H_out = 1 + (H - pool_height) // stride,
                W_out = 1 + (W - pool_width) // stride.
            cache: tuple ``(x_shape, argmax, pool_height, pool_width, stride)``
                for the backward pass; argmax (N, C, H_out, W_out) holds the
                position p * pool_width + q of each window's maximum.

    Raises:
        ValueError: if the pool or the stride is smaller than 1, or the pool
            is larger than the input.

    Source: Ranzato et al. (2007) for max pooling; Dumoulin & Visin (2016),
    section 3, for the output size.

    Hint: ``x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)``
    is a view of every window, shape (N, C, H_out, W_out, pool_height,
    pool_width); flatten the last two axes and take ``max(dim=-1)``, which
    returns the maxima and their positions.
    """
    # TODO: gather every window with unfold, take the maximum of each window and keep where it was for the backward pass
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    if pool_height < 1 or pool_width < 1 or stride < 1:
        raise ValueError(f"need pool_height, pool_width, stride >= 1, got {pool_height}, "
                         f"{pool_width}, {stride}")
    if pool_height > H or pool_width > W:
        raise ValueError(f"the pool ({pool_height}x{pool_width}) is larger than the input ({H}x{W})")

    windows = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    H_out, W_out = windows.shape[2], windows.shape[3]           # the floor, as unfold counts
    flat = windows.reshape(N, C, H_out, W_out, pool_height * pool_width)
    out, argmax = flat.max(dim=-1)

    cache = (x.shape, argmax, pool_height, pool_width, stride)
    return out, cache
    ### END SOLUTION


def maxpool_backward(dout, cache):
    """Backward pass of a max-pooling layer.

    Formula: with (p*, q*) the position of the maximum of window (i, j)::

        dx[n, c, i*stride + p*, j*stride + q*] += dout[n, c, i, j]

    and zero everywhere else; where windows overlap an element that is the
    maximum of several windows receives the sum of their gradients.

    Args:
        dout: torch.Tensor (N, C, H_out, W_out), float64 on CPU or float32
            on CUDA -- the upstream gradient. Not modified.
        cache: tuple from ``maxpool_forward``.

    Returns:
        dx: torch.Tensor (N, C, H, W) on dout's device and dtype -- the
            gradient with respect to x.

    Raises:
        Nothing.

    Source: the chain rule through max(a_1, ..., a_k), whose derivative is 1
    for the largest argument and 0 for the others (LeCun et al. 1998,
    appendix on back-propagation through subsampling layers).

    Hint: turn each window's argmax into a flat index
    (i*stride + p) * W + (j*stride + q) of the input and add all upstream
    gradients at once with ``scatter_add_`` on a zero (N, C, H*W) buffer;
    ``dx[index] = dout`` would keep only one of several windows' gradients.
    """
    # TODO: send each upstream gradient to the input position of its window's maximum, adding where windows overlap
    ### BEGIN SOLUTION
    (N, C, H, W), argmax, pool_height, pool_width, stride = cache
    _, _, H_out, W_out = dout.shape
    p, q = argmax // pool_width, argmax % pool_width            # (N, C, H_out, W_out)
    rows = torch.arange(H_out, device=dout.device).reshape(H_out, 1) * stride + p
    cols = torch.arange(W_out, device=dout.device).reshape(1, W_out) * stride + q
    index = (rows * W + cols).reshape(N, C, H_out * W_out)

    dx = dout.new_zeros((N, C, H * W))
    dx.scatter_add_(2, index, dout.reshape(N, C, H_out * W_out))
    return dx.reshape(N, C, H, W)
    ### END SOLUTION
