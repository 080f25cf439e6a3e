"""Exercise 10 -- batch normalisation, forward and backward.

What this exercise teaches
--------------------------
Batch normalisation standardises every feature over the mini-batch, then lets
the network rescale and shift it with learned ``gamma`` and ``beta``. During
training it uses the batch's own mean and (biased) variance and keeps running
averages of them; at test time it uses those running averages instead, so a
single example is normalised the same way whatever batch it comes in. The
state lives in the ``bn_param`` dict, as in the CS231n ``layers.py`` module.

Source
------
S. Ioffe and C. Szegedy, "Batch Normalization: Accelerating Deep Network
Training by Reducing Internal Covariate Shift", ICML 2015, Algorithm 1 (the
running averages with CS231n's convention
``running = momentum * running + (1 - momentum) * batch``).
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of a mini-batch, in training or test mode.

    Formula (per feature d, over the N samples of the batch)::

        mu     = mean_n x[n, d]
        var    = mean_n (x[n, d] - mu) ** 2            (biased: divide by N)
        x_hat  = (x - mu) / sqrt(var + eps)
        out    = gamma * x_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var

    In test mode ``running_mean`` and ``running_var`` replace ``mu`` and
    ``var`` and are left unchanged.

    Args:
        x: np.ndarray of float64, shape (N, D) -- the inputs, N >= 2 in training.
            Not modified in place.
        gamma: np.ndarray of float64, shape (D,) -- the scale.
        beta: np.ndarray of float64, shape (D,) -- the shift.
        bn_param: dict -- ``'mode'`` ("train" or "test", required), ``'eps'``
            (float, default 1e-5), ``'momentum'`` (float, default 0.9),
            ``'running_mean'`` and ``'running_var'`` (np.ndarray (D,), default
            zeros). Updated in place: the new running averages are stored back.

    Returns:
        (out, cache):
            out: np.ndarray of float64, shape (N, D).
            cache: what ``batchnorm_backward`` needs (training mode only).

    Raises:
        ValueError: when ``bn_param['mode']`` is neither "train" nor "test".

    Source: Ioffe & Szegedy (2015), Algorithm 1.

    Hint: reduce over the batch axis (axis=0), use ``x.var(axis=0)`` (ddof=0),
    and keep ``eps`` inside the square root.
    """
    # TODO: normalise with the batch statistics (train) or the running ones (test)
    raise NotImplementedError('normalise with the batch statistics (train) or the running ones (test)')


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalisation in training mode.

    Formula (per feature, sums over the batch, x_hat and the inverse standard
    deviation ``1 / sqrt(var + eps)`` saved by the forward pass)::

        dbeta  = sum_n dout
        dgamma = sum_n dout * x_hat
        dx     = (gamma / sqrt(var + eps)) / N
                 * (N * dout - sum_n dout - x_hat * sum_n (dout * x_hat))

    The mean and the variance depend on x too: the last two terms are their
    contribution.

    Args:
        dout: np.ndarray of float64, shape (N, D) -- upstream gradient.
            Not modified in place.
        cache: the cache returned by ``batchnorm_forward`` in training mode.

    Returns:
        (dx, dgamma, dbeta): float64 arrays of shapes (N, D), (D,) and (D,).

    Raises:
        Nothing.

    Source: Ioffe & Szegedy (2015), section 3 (the chain rule through
    Algorithm 1).
    """
    # TODO: backpropagate through the normalisation, the mean and the variance
    raise NotImplementedError('backpropagate through the normalisation, the mean and the variance')
