"""Exercise 09 -- momentum, RMSProp and Adam.

What this exercise teaches
--------------------------
Three update rules that improve on plain gradient descent, each written in
the CS231n ``optim.py`` style: ``update(w, dw, config=None) -> (next_w,
config)``, the optimizer state carried between calls in ``config``.

* SGD with momentum keeps a *velocity*, a decaying sum of past steps, so the
  update keeps moving along directions where the gradient is consistent.
* RMSProp divides each step by the root of a decaying average of squared
  gradients (the *cache*): Adagrad's per-parameter step size, but forgetting
  the distant past.
* Adam combines the two (first moment ``m``, second moment ``v``) and
  corrects the bias both have towards zero during the first steps.

Sources
-------
B. T. Polyak, "Some methods of speeding up the convergence of iteration
methods", USSR Comp. Math. and Math. Physics 4(5) (1964), 1-17; I. Sutskever,
J. Martens, G. Dahl and G. Hinton, "On the importance of initialization and
momentum in deep learning", ICML 2013. T. Tieleman and G. Hinton, Lecture 6.5
"rmsprop", COURSERA: Neural Networks for Machine Learning (2012). D. P. Kingma
and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015
(Algorithm 1).
"""

import numpy as np


def sgd_momentum_update(w, dw, config=None):
    """Perform one step of stochastic gradient descent with momentum.

    Formula (all operations elementwise)::

        v      = momentum * v - learning_rate * dw
        next_w = w + v

    At a constant learning rate the weights equal those of
    ``torch.optim.SGD(momentum=momentum)`` (torch keeps ``b = v / -lr``).

    Args:
        w: np.ndarray of float64, any shape -- the current weights. Not
            modified in place.
        dw: np.ndarray of float64, same shape as ``w`` -- the gradient of the
            loss with respect to ``w``. Not modified in place.
        config: dict or None -- the optimizer state, with keys
            ``'learning_rate'`` (float, default 1e-2), ``'momentum'`` (float
            in [0, 1), default 0.9) and ``'velocity'`` (np.ndarray shaped like
            ``w``, default zeros). Missing keys get their defaults; ``None``
            means a fresh state.

    Returns:
        (next_w, config): next_w a new float64 array shaped like ``w``;
        config the state dict with ``'velocity'`` updated.

    Raises:
        Nothing.

    Source: Polyak (1964); Sutskever et al. (2013), equation (1).
    """
    # TODO: fill in the defaults, update the velocity and take the step
    ### BEGIN SOLUTION
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    v = config.get('velocity', np.zeros_like(w))

    v = config['momentum'] * v - config['learning_rate'] * dw
    next_w = w + v

    config['velocity'] = v
    return next_w, config
    ### END SOLUTION


def rmsprop_update(w, dw, config=None):
    """Perform one RMSProp step.

    Formula (all operations elementwise)::

        cache  = decay_rate * cache + (1 - decay_rate) * dw ** 2
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    This is ``torch.optim.RMSprop`` with ``alpha=decay_rate``, momentum 0,
    ``centered=False``.

    Args:
        w: np.ndarray of float64, any shape -- the current weights. Not
            modified in place.
        dw: np.ndarray of float64, same shape as ``w`` -- the gradient. Not
            modified in place.
        config: dict or None -- the optimizer state, with keys
            ``'learning_rate'`` (float, default 1e-2), ``'decay_rate'``
            (float in [0, 1), default 0.99), ``'epsilon'`` (float, default
            1e-8, added after the square root) and ``'cache'`` (np.ndarray
            shaped like ``w``, default zeros: the moving average of dw**2).

    Returns:
        (next_w, config): next_w a new float64 array shaped like ``w``;
        config the state dict with ``'cache'`` updated.

    Raises:
        Nothing.

    Source: Tieleman & Hinton (2012), Lecture 6.5.
    """
    # TODO: fill in the defaults, update the moving average of dw**2 and take the step
    ### BEGIN SOLUTION
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    cache = config.get('cache', np.zeros_like(w))

    rho = config['decay_rate']
    cache = rho * cache + (1 - rho) * dw ** 2
    next_w = w - config['learning_rate'] * dw / (np.sqrt(cache) + config['epsilon'])

    config['cache'] = cache
    return next_w, config
    ### END SOLUTION


def adam_update(w, dw, config=None):
    """Perform one Adam step.

    Formula (all operations elementwise)::

        t      = t + 1
        m      = beta1 * m + (1 - beta1) * dw
        v      = beta2 * v + (1 - beta2) * dw ** 2
        m_hat  = m / (1 - beta1 ** t)
        v_hat  = v / (1 - beta2 ** t)
        next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    This is ``torch.optim.Adam`` with ``amsgrad=False``, weight decay 0.

    Args:
        w: np.ndarray of float64, any shape -- the current weights. Not
            modified in place.
        dw: np.ndarray of float64, same shape as ``w`` -- the gradient. Not
            modified in place.
        config: dict or None -- the optimizer state, with keys
            ``'learning_rate'`` (default 1e-3), ``'beta1'`` (default 0.9),
            ``'beta2'`` (default 0.999), ``'epsilon'`` (default 1e-8, added
            after the square root), ``'m'`` and ``'v'`` (np.ndarrays shaped
            like ``w``, default zeros: the moving averages of dw and dw**2)
            and ``'t'`` (int, default 0: the number of steps taken so far).

    Returns:
        (next_w, config): next_w a new float64 array shaped like ``w``;
        config the state dict with ``'m'``, ``'v'`` and ``'t'`` updated.

    Raises:
        Nothing.

    Source: Kingma & Ba (2015), Algorithm 1.

    Hint: increment t *before* the bias correction, so the first step
    divides by 1 - beta1 ** 1.
    """
    # TODO: fill in the defaults, update t, m and v, correct their bias and take the step
    ### BEGIN SOLUTION
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    m = config.get('m', np.zeros_like(w))
    v = config.get('v', np.zeros_like(w))
    t = config.get('t', 0) + 1

    b1, b2 = config['beta1'], config['beta2']
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw ** 2
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    next_w = w - config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])

    config['m'], config['v'], config['t'] = m, v, t
    return next_w, config
    ### END SOLUTION
