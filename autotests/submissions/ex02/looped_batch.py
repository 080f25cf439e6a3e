# expect: performance fail a Python loop over the batch
# expect: op_count fail loops in Python over the samples of the batch
# expect: affine_forward pass
# expect: two_layer_gradients pass
# Correct, but every layer handles one sample (one row) at a time in a Python loop.
import numpy as np


def affine_forward(x, w, b):
    N = x.shape[0]
    out = np.empty((N, w.shape[1]))
    for n in range(N):
        out[n] = x[n].reshape(-1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    dx = np.empty(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        dx[n] = (w @ dout[n]).reshape(x.shape[1:])
        dw += np.outer(x[n].reshape(-1), dout[n])
    return dx, dw, dout.sum(axis=0)


def relu_forward(x):
    out = np.empty(x.shape)
    for n in range(x.shape[0]):
        out[n] = np.maximum(0.0, x[n])
    return out, x


def relu_backward(dout, cache):
    dx = np.empty(dout.shape)
    for n in range(dout.shape[0]):
        dx[n] = dout[n] * (cache[n] > 0)
    return dx


def softmax_loss(scores, y):
    N = scores.shape[0]
    loss = 0.0
    dscores = np.empty(scores.shape)
    for n in range(N):
        row = scores[n] - scores[n].max()
        log_p = row - np.log(np.exp(row).sum())
        loss -= log_p[y[n]]
        p = np.exp(log_p)
        p[y[n]] -= 1.0
        dscores[n] = p / N
    return loss / N, dscores


def two_layer_loss(X, y, params, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a1, c1 = affine_forward(X, W1, b1)
    h, ch = relu_forward(a1)
    scores, c2 = affine_forward(h, W2, b2)
    loss, dscores = softmax_loss(scores, y)
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dh, dW2, db2 = affine_backward(dscores, c2)
    _, dW1, db1 = affine_backward(relu_backward(dh, ch), c1)
    return loss, {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
