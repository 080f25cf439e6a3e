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
    ### BEGIN SOLUTION
    x2 = x.reshape(x.shape[0], -1)
    out = x2 @ w + b
    cache = (x, w, b)
    return out, cache
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    out = np.maximum(0.0, x)
    cache = x
    return out, cache
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    x = cache
    dx = dout * (x > 0)
    return dx
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    dscores /= n
    return float(loss), dscores
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a1, cache1 = affine_forward(X, W1, b1)
    h, cache_relu = relu_forward(a1)
    scores, cache2 = affine_forward(h, W2, b2)
    data_loss, dscores = softmax_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dh, dW2, db2 = affine_backward(dscores, cache2)
    da1 = relu_backward(dh, cache_relu)
    _, dW1, db1 = affine_backward(da1, cache1)
    grads = {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
    return float(loss), grads
    ### END SOLUTION
