"""Exercise 06 -- the convolutional layer, forward and backward, via im2col.

What this exercise teaches
--------------------------
A 2-D convolution layer (strictly: a cross-correlation, which is what
PyTorch's built-in 2-D convolution computes) slides F filters of shape
(C, HH, WW) over a zero-padded input and takes a dot product at every window position. Written
with loops it is slow; the standard trick, *im2col*, copies every receptive
field into one row of a matrix so that the whole layer becomes a single
matrix product. In torch the windows come for free from ``Tensor.unfold``,
which returns a strided view without copying. The backward pass reverses the
steps: the gradient of the matrix product gives the gradient of the columns,
and *col2im* adds every column gradient back onto the input position it was
copied from (windows overlap, so the contributions must be summed).

Output size (Dumoulin & Visin, relationship 6: zero padding, non-unit strides)::

    H_out = 1 + (H + 2*pad - HH) // stride
    W_out = 1 + (W + 2*pad - WW) // stride

The floor means that, when the windows do not tile the padded input exactly,
the last rows/columns are never read and get zero gradient.

The layer follows the CS231n ``layers.py`` style: the forward pass returns
``(out, cache)`` and the backward pass takes ``(dout, cache)``. Only plain
tensor operations are allowed: none of PyTorch's functional layers (zero
padding aside), no built-in convolution routine, no automatic
differentiation.

Source
------
V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep
learning", arXiv:1603.07285 (2016).
"""

import torch


def conv_forward(x, w, b, stride=1, pad=0):
    """Forward pass of a convolutional layer (cross-correlation).

    Formula::

        x_pad = x zero-padded by `pad` on every side of H and W
        out[n, f, i, j] = b[f] + sum_{c, p, q} w[f, c, p, q]
                          * x_pad[n, c, i*stride + p, j*stride + q]

    computed as one matrix product: the im2col matrix (N*H_out*W_out,
    C*HH*WW) times the reshaped filters (C*HH*WW, F).

    Args:
        x: torch.Tensor (N, C, H, W), float64 on CPU or float32 on CUDA --
            the input. Not modified.
        w: torch.Tensor (F, C, HH, WW), same dtype and device -- the filters.
        b: torch.Tensor (F,), same dtype and device -- the biases.
        stride: int >= 1, default 1 -- step between window positions, the
            same in both directions.
        pad: int >= 0, default 0 -- number of zeros added on every side of
            the height and width axes. The kernel may be larger than x
            itself (HH > H or WW > W) as long as it fits the padded input
            (HH <= H + 2*pad and WW <= W + 2*pad): it slides over x_pad.

    Returns:
        (out, cache):
            out: torch.Tensor (N, F, H_out, W_out) on x's device and dtype,
                H_out = 1 + (H + 2*pad - HH) // stride,
                W_out = 1 + (W + 2*pad - WW) // stride.
            cache: tuple ``(x_shape, w, stride, pad, x_cols)`` for the
                backward pass, where x_cols is the im2col matrix.

    Raises:
        ValueError: if stride < 1, pad < 0, the channel counts of x and w
            differ, or the kernel is larger than the padded input.

    Source: Dumoulin & Visin (2016), "A guide to convolution arithmetic for
    deep learning", section 2 (output size with padding and strides).

    Hint: pad into a zero buffer, then
    ``x_pad.unfold(2, HH, stride).unfold(3, WW, stride)`` has shape
    (N, C, H_out, W_out, HH, WW); move C next to (HH, WW), reshape to a
    matrix and multiply by ``w.reshape(F, -1).T``.
    """
    # TODO: zero-pad x, build the im2col matrix of all receptive fields with unfold, and compute out with one matrix product plus the bias
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, Cw, HH, WW = w.shape
    if stride < 1 or pad < 0:
        raise ValueError(f"need stride >= 1 and pad >= 0, got stride={stride}, pad={pad}")
    if C != Cw:
        raise ValueError(f"x has {C} channels but w expects {Cw}")
    if HH > H + 2 * pad or WW > W + 2 * pad:
        raise ValueError("the kernel is larger than the padded input")

    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride

    # Zero padding into a fresh buffer (also fine when pad == 0).
    x_pad = x.new_zeros((N, C, H + 2 * pad, W + 2 * pad))
    x_pad[:, :, pad:pad + H, pad:pad + W] = x

    # All windows as a strided view: (N, C, H_out, W_out, HH, WW).
    windows = x_pad.unfold(2, HH, stride).unfold(3, WW, stride)

    # im2col: one row per output position, one column per (c, p, q).
    x_cols = windows.permute(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * HH * WW)
    w_mat = w.reshape(F, C * HH * WW)

    out = x_cols @ w_mat.T + b                                   # (N*H_out*W_out, F)
    out = out.reshape(N, H_out, W_out, F).permute(0, 3, 1, 2).contiguous()

    cache = (x.shape, w, stride, pad, x_cols)
    return out, cache
    ### END SOLUTION


def conv_backward(dout, cache):
    """Backward pass of a convolutional layer.

    Formula (with the im2col matrix X_cols and W_mat = w.reshape(F, -1))::

        dout_mat = dout rearranged to (N*H_out*W_out, F)
        db       = sum of dout over N, H_out, W_out
        dw       = (dout_mat.T @ X_cols).reshape(w.shape)
        dX_cols  = dout_mat @ W_mat
        dx       = col2im(dX_cols): every column gradient is ADDED back to
                   the padded input position it was read from; the padding
                   is then cut away.

    Args:
        dout: torch.Tensor (N, F, H_out, W_out), float64 on CPU or float32
            on CUDA -- the upstream gradient. Not modified.
        cache: tuple from ``conv_forward``.

    Returns:
        (dx, dw, db):
            dx: torch.Tensor (N, C, H, W) -- gradient with respect to x
                (zero where x was never inside a window).
            dw: torch.Tensor (F, C, HH, WW) -- gradient with respect to w.
            db: torch.Tensor (F,) -- gradient with respect to b.

    Raises:
        Nothing.

    Source: Dumoulin & Visin (2016), "A guide to convolution arithmetic for
    deep learning" (the backward pass of a convolution is a transposed
    convolution, section 4).

    Hint: for col2im, loop over the HH*WW kernel offsets (p, q) only and add
    the matching slice of dX_cols into
    ``dx_pad[:, :, p:p + stride*(H_out-1) + 1:stride, q:q + stride*(W_out-1) + 1:stride]``;
    slice with ``pad:pad + H`` (not ``pad:-pad``, which breaks for pad = 0).
    """
    # TODO: compute db, dw and the im2col gradient with matrix products, then scatter-add the column gradients back into a padded dx (col2im)
    ### BEGIN SOLUTION
    x_shape, w, stride, pad, x_cols = cache
    N, C, H, W = x_shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape

    dout_mat = dout.permute(0, 2, 3, 1).reshape(N * H_out * W_out, F)

    db = dout.sum(dim=(0, 2, 3))
    dw = (dout_mat.T @ x_cols).reshape(F, C, HH, WW)

    dx_cols = dout_mat @ w.reshape(F, C * HH * WW)               # (N*H_out*W_out, C*HH*WW)
    dx_cols = dx_cols.reshape(N, H_out, W_out, C, HH, WW).permute(0, 3, 4, 5, 1, 2)
    # dx_cols: (N, C, HH, WW, H_out, W_out)

    # col2im: add each kernel offset's contribution back onto the padded input.
    dx_pad = dout.new_zeros((N, C, H + 2 * pad, W + 2 * pad))
    h_span = stride * (H_out - 1) + 1
    w_span = stride * (W_out - 1) + 1
    for p in range(HH):
        for q in range(WW):
            dx_pad[:, :, p:p + h_span:stride, q:q + w_span:stride] += dx_cols[:, :, p, q]

    dx = dx_pad[:, :, pad:pad + H, pad:pad + W].contiguous()
    return dx, dw, db
    ### END SOLUTION
