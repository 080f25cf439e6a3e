# Forgot to return the cache from relu_forward (`return out`): every check that needs the
# cache must say so in the student's terms, none may crash the grader (a regression: the
# inputs-untouched check once unpacked the result without checking its arity).
# expect: relu_forward fail relu_forward returned an array; it must return a tuple (out, cache)
# expect: inputs_untouched fail relu_forward returned an array; it must return a tuple (out, cache)
# expect: affine_forward pass
import numpy as np


def affine_forward(x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    out = x2 @ w + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(0, x)
    return out  # forgot the cache


def relu_backward(dout, cache):
    x = cache
    dx = dout * (x > 0)
    return dx


def softmax_loss(scores, y):
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    dscores /= n
    return float(loss), dscores


def two_layer_loss(X, y, params, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a1, cache1 = affine_forward(X, W1, b1)
    h = relu_forward(a1)
    cache_relu = a1
    scores, cache2 = affine_forward(h, W2, b2)
    data_loss, dscores = softmax_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dh, dW2, db2 = affine_backward(dscores, cache2)
    da1 = relu_backward(dh, cache_relu)
    _, dW1, db1 = affine_backward(da1, cache1)
    grads = {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
    return float(loss), grads
