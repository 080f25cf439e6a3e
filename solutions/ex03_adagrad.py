"""Exercise 03 -- the Adagrad update rule.

What this exercise teaches
--------------------------
Adagrad gives every parameter its own learning rate. It keeps, per parameter,
the running sum of squared gradients (the *cache*) and divides each step by
the square root of that sum, so parameters that have seen large gradients take
smaller steps and rarely-updated parameters take larger ones. The optimizer
state lives in a ``config`` dict that is passed back and forth between calls,
as in the CS231n ``optim.py`` module.

Source
------
J. Duchi, E. Hazan and Y. Singer, "Adaptive Subgradient Methods for Online
Learning and Stochastic Optimization", JMLR 12 (2011), 2121-2159 (the diagonal
variant, as implemented by torch.optim.Adagrad).
"""

import numpy as np


def adagrad_update(w, dw, config=None):
    """Perform one Adagrad step.

    Formula (all operations elementwise)::

        cache  = cache + dw ** 2
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    With ``lr_decay=0``, ``weight_decay=0`` and ``initial_accumulator_value=0``
    this is exactly the update of ``torch.optim.Adagrad``.

    Args:
        w: np.ndarray of float64, any shape -- the current weights. Not
            modified in place.
        dw: np.ndarray of float64, same shape as ``w`` -- the gradient of the
            loss with respect to ``w``. Not modified in place.
        config: dict or None -- the optimizer state, with keys
            ``'learning_rate'`` (float, default 1e-2),
            ``'epsilon'`` (float, default 1e-10, avoids division by zero) and
            ``'cache'`` (np.ndarray shaped like ``w``, default zeros: the sum
            of squared gradients seen so far). Missing keys are filled in with
            their defaults. ``None`` means a fresh state.

    Returns:
        (next_w, config):
            next_w: np.ndarray of float64, same shape as ``w`` -- the updated
                weights (a new array).
            config: dict -- the same state dict, with ``'cache'`` updated, to
                be passed to the next call.

    Raises:
        Nothing.

    Source: Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for
    Online Learning and Stochastic Optimization".

    Hint: use ``config.setdefault`` for the defaults (it keeps the values the
    caller gave), build the new cache as a new array (``config['cache'] +
    dw ** 2``, so a cache array the caller still holds is not changed behind
    its back), store it in the config you return, and add epsilon *after*
    taking the square root, as torch does.
    """
    # TODO: fill in the config defaults, accumulate dw**2 into the cache, and take the Adagrad step
    ### BEGIN SOLUTION
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('epsilon', 1e-10)
    config.setdefault('cache', np.zeros_like(w))

    # A new array: never change the caller's arrays in place.
    cache = config['cache'] + dw ** 2
    next_w = w - config['learning_rate'] * dw / (np.sqrt(cache) + config['epsilon'])

    config['cache'] = cache
    return next_w, config
    ### END SOLUTION
