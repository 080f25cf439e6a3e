"""Exercise 2: backpropagation through a two-layer network, one layer at a time.

Each layer has a forward pass that returns its output and a `cache` of what the backward pass
needs, and a backward pass that takes the upstream gradient `dout` (the gradient of the loss with
respect to the layer's output) and returns the gradients with respect to the layer's inputs. The
layers are then chained into affine - ReLU - affine - softmax cross-entropy.

Sources: Rumelhart, Hinton & Williams, "Learning representations by back-propagating errors",
Nature 1986; the layer/cache style of Stanford's CS231n assignments; softmax cross-entropy as in
Goodfellow, Bengio & Courville, "Deep Learning" (2016), section 6.2.2.3.
"""
import numpy as np


def affine_forward(x, w, b):
    """Fully connected (affine) layer, forward pass.

    Formula:
        out = x2 · w + b, where x2 = x reshaped to (N, D) with D = d1 · ... · dk.

    Args:
        x: np.ndarray (N, d1, ..., dk), float64: a minibatch of N inputs.
        w: np.ndarray (D, M), float64: weights.
        b: np.ndarray (M,), float64: biases.

    Returns:
        out: np.ndarray (N, M), float64.
        cache: whatever affine_backward needs, e.g. (x, w, b).

    Raises:
        ValueError (from numpy) when the shapes do not fit.

    Hint: x.reshape(x.shape[0], -1) flattens every dimension but the first.
    """
    # TODO: flatten x to (N, D), compute out = x2 @ w + b and keep a cache for the backward pass
    raise NotImplementedError('flatten x to (N, D), compute out = x2 @ w + b and keep a cache for the backward pass')


def affine_backward(dout, cache):
    """Fully connected (affine) layer, backward pass.

    Formula:
        dx = dout · wᵀ (reshaped to x's shape), dw = x2ᵀ · dout, db = Σ_n dout[n]

    Args:
        dout: np.ndarray (N, M), float64: upstream gradient.
        cache: what affine_forward returned.

    Returns:
        dx: np.ndarray shaped like x (N, d1, ..., dk); dw: (D, M); db: (M,). All float64.

    Raises:
        Nothing for a cache from affine_forward.

    Hint: db sums over the batch (the bias is used once per example); it is not a mean.
    """
    # TODO: compute dx (shaped like x), dw and db from dout and the cache
    raise NotImplementedError('compute dx (shaped like x), dw and db from dout and the cache')


def relu_forward(x):
    """Rectified linear unit, forward pass: out = max(0, x), elementwise.

    Args:
        x: np.ndarray of any shape, float64.

    Returns:
        out: np.ndarray, same shape as x; cache: what relu_backward needs (x).

    Raises:
        Nothing.

    Source: Nair & Hinton 2010, "Rectified linear units improve restricted Boltzmann machines".

    Hint: np.maximum(0, x) makes a new array; x[x < 0] = 0 would change the caller's x.
    """
    # TODO: compute max(0, x) without changing x
    raise NotImplementedError('compute max(0, x) without changing x')


def relu_backward(dout, cache):
    """Rectified linear unit, backward pass: dx = dout where x > 0, else 0.

    At the kink, x == 0 exactly, ReLU has no derivative; the rule here (as in torch, whose
    relu backward passes the gradient only where the output is > 0) is dx = 0 there.

    Args:
        dout: np.ndarray, upstream gradient, same shape as x. cache: x from relu_forward.

    Returns:
        dx: np.ndarray, same shape as x, float64.

    Raises:
        Nothing.

    Hint: the gate is the sign of the layer's *input* x, not of dout.
    """
    # TODO: pass dout through where the forward input was positive
    raise NotImplementedError('pass dout through where the forward input was positive')


def softmax_loss(scores, y):
    """Softmax cross-entropy loss, mean over the batch, and its gradient.

    Formula:
        p[n, c] = exp(s[n, c] - max_c s[n]) / Σ_c' exp(s[n, c'] - max_c s[n])
        loss = -(1/N) Σ_n log p[n, y[n]]
        dscores = (p - onehot(y)) / N

    Args:
        scores: np.ndarray (N, C), float64: unnormalised class scores of any magnitude.
        y: np.ndarray (N,), int: the correct class of each example, 0 <= y[n] < C.

    Returns:
        loss: float (a Python float or a 0-d float64 array); dscores: np.ndarray (N, C), float64.

    Raises:
        IndexError when a label is out of range.

    Hint: subtract each row's maximum before exp (the result is the same and exp never
    overflows), and compute log p as shifted - log Σ exp(shifted) instead of log(p).
    """
    # TODO: compute the stable softmax cross-entropy loss and its gradient with respect to scores
    raise NotImplementedError('compute the stable softmax cross-entropy loss and its gradient with respect to scores')


def two_layer_loss(X, y, params, reg=0.0):
    """Loss and gradients of a two-layer network: affine - ReLU - affine - softmax.

    Formula:
        h = max(0, X2 · W1 + b1); scores = h · W2 + b2
        loss = softmax_loss(scores, y) + 0.5 · reg · (‖W1‖² + ‖W2‖²)

    Args:
        X: np.ndarray (N, D) (or (N, d1, ..., dk)), float64. y: np.ndarray (N,), int labels.
        params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,), float64. Not modified.
        reg: float, L2 regularisation strength.

    Returns:
        loss: float; grads: dict with the same keys and shapes as params.

    Raises:
        KeyError when a parameter is missing.

    Hint: the regularisation term adds reg · W to dW1 and dW2 (not to the biases).
    """
    # TODO: chain your layers forward, then backward, and add the regularisation term and its gradient
    raise NotImplementedError('chain your layers forward, then backward, and add the regularisation term and its gradient')
