"""Exercise 04 -- inverted dropout.

What this exercise teaches
--------------------------
Dropout regularises a network by zeroing each unit at random during training,
so that units cannot co-adapt. In *inverted* dropout the surviving units are
divided by the keep probability (1 - p) at training time, so the expected
value of every unit is unchanged and the layer is simply the identity at test
time. The randomness is drawn only from the ``np.random.Generator`` passed in,
which makes the layer reproducible. The layer follows the CS231n ``layers.py``
style: the forward pass returns ``(out, cache)`` and the backward pass takes
``(dout, cache)``.

Source
------
N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and R. Salakhutdinov,
"Dropout: A Simple Way to Prevent Neural Networks from Overfitting",
JMLR 15 (2014), 1929-1958.
"""

import numpy as np


def dropout_forward(x, p, train, rng):
    """Forward pass of inverted dropout.

    Formula (elementwise)::

        train:  mask ~ Bernoulli(1 - p)      (1 = keep, 0 = drop)
                out  = x * mask / (1 - p)
        test:   out  = x

    Args:
        x: np.ndarray of float64, any shape -- the input. Not modified.
        p: float in [0, 1) -- the probability of DROPPING a unit (not of
            keeping it).
        train: bool -- True for the training pass (random mask), False for
            the test pass (identity, no random numbers drawn).
        rng: np.random.Generator -- the only source of randomness; it
            advances as it is used.

    Returns:
        (out, cache):
            out: np.ndarray of float64, same shape as ``x``.
            cache: tuple ``(mask, p, train)`` for the backward pass; ``mask``
                is a boolean array shaped like ``x`` (None in test mode).

    Raises:
        ValueError: if ``p`` is not in [0, 1).

    Source: Srivastava et al. (2014), "Dropout: A Simple Way to Prevent
    Neural Networks from Overfitting", with the inverted scaling used by
    modern frameworks.

    Hint: ``rng.random(x.shape) >= p`` is True with probability 1 - p; never
    call the global ``np.random`` functions.
    """
    # TODO: in training draw a keep-mask from rng and scale the survivors by 1/(1-p); at test time return x unchanged
    ### BEGIN SOLUTION
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p}")

    if train:
        mask = rng.random(x.shape) >= p      # keep with probability 1 - p
        out = x * mask / (1.0 - p)           # inverted dropout scaling
    else:
        mask = None
        out = x.copy()                       # identity at test time

    cache = (mask, p, train)
    return out, cache
    ### END SOLUTION


def dropout_backward(dout, cache):
    """Backward pass of inverted dropout.

    Formula (elementwise)::

        train:  dx = dout * mask / (1 - p)
        test:   dx = dout

    Args:
        dout: np.ndarray of float64, same shape as the forward input -- the
            upstream gradient. Not modified.
        cache: tuple ``(mask, p, train)`` from ``dropout_forward``.

    Returns:
        dx: np.ndarray of float64, same shape as ``dout`` -- the gradient with
            respect to ``x``.

    Raises:
        Nothing.

    Source: Srivastava et al. (2014), "Dropout: A Simple Way to Prevent
    Neural Networks from Overfitting".

    Hint: the forward pass is a multiplication by the constant mask/(1-p), so
    the gradient flows back through the same mask and the same scale.
    """
    # TODO: route the gradient through the saved mask with the same 1/(1-p) scale (identity at test time)
    ### BEGIN SOLUTION
    mask, p, train = cache
    if train:
        dx = dout * mask / (1.0 - p)
    else:
        dx = dout.copy()
    return dx
    ### END SOLUTION
