"""Exercise 05 -- Xavier (Glorot) weight initialisation.

What this exercise teaches
--------------------------
If the weights of a layer are too small the signal shrinks layer after layer;
if they are too large it explodes. Glorot and Bengio chose the weight variance
so that the variance of the activations (forward) and of the gradients
(backward) stays roughly constant across layers, which gives the compromise

    Var(W) = 2 / (fan_in + fan_out).

A uniform distribution U(-a, a) has variance a**2 / 3, hence
a = sqrt(6 / (fan_in + fan_out)); a normal distribution uses
sigma = sqrt(2 / (fan_in + fan_out)) directly. An optional ``gain`` scales
both (e.g. 5/3 for tanh, as PyTorch's calculate_gain suggests). The weights have
shape (fan_in, fan_out) so that a layer computes ``x @ W``.

Source
------
X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
feedforward neural networks", AISTATS 2010, equation (16).
"""

import numpy as np


def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    """Draw a weight matrix from the Xavier (Glorot) uniform distribution.

    Formula::

        a = gain * sqrt(6 / (fan_in + fan_out))
        W ~ U(-a, a),  shape (fan_in, fan_out)

    Args:
        fan_in: int > 0 -- number of input units of the layer.
        fan_out: int > 0 -- number of output units of the layer.
        rng: np.random.Generator -- the only source of randomness; it
            advances as it is used.
        gain: float, default 1.0 -- scale factor applied to the bound.

    Returns:
        W: np.ndarray of float64, shape (fan_in, fan_out).

    Raises:
        ValueError: if ``fan_in`` or ``fan_out`` is not positive.

    Source: Glorot & Bengio (2010), "Understanding the difficulty of training
    deep feedforward neural networks", eq. (16).

    Hint: ``rng.uniform(low, high, size=...)``; never call the global
    ``np.random`` functions.
    """
    # TODO: compute the bound a = gain*sqrt(6/(fan_in+fan_out)) and draw W from U(-a, a) with rng
    raise NotImplementedError('compute the bound a = gain*sqrt(6/(fan_in+fan_out)) and draw W from U(-a, a) with rng')


def xavier_normal(fan_in, fan_out, rng, gain=1.0):
    """Draw a weight matrix from the Xavier (Glorot) normal distribution.

    Formula::

        sigma = gain * sqrt(2 / (fan_in + fan_out))
        W ~ N(0, sigma**2),  shape (fan_in, fan_out)

    Args:
        fan_in: int > 0 -- number of input units of the layer.
        fan_out: int > 0 -- number of output units of the layer.
        rng: np.random.Generator -- the only source of randomness; it
            advances as it is used.
        gain: float, default 1.0 -- scale factor applied to the standard
            deviation.

    Returns:
        W: np.ndarray of float64, shape (fan_in, fan_out).

    Raises:
        ValueError: if ``fan_in`` or ``fan_out`` is not positive.

    Source: Glorot & Bengio (2010), "Understanding the difficulty of training
    deep feedforward neural networks".

    Hint: ``rng.normal(loc, scale, size=...)`` takes the standard deviation,
    not the variance.
    """
    # TODO: compute sigma = gain*sqrt(2/(fan_in+fan_out)) and draw W from N(0, sigma^2) with rng
    raise NotImplementedError('compute sigma = gain*sqrt(2/(fan_in+fan_out)) and draw W from N(0, sigma^2) with rng')
