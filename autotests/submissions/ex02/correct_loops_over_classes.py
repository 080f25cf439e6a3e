# expect: full
# Correct, written more naively: a loop over classes in the softmax, np.dot, copy-based ReLU.
import numpy as np


def affine_forward(x, w, b):
    N = x.shape[0]
    return np.dot(x.reshape(N, -1), w) + b, (x.copy(), w.copy())


def affine_backward(dout, cache):
    x, w = cache
    N = x.shape[0]
    return np.dot(dout, w.T).reshape(*x.shape), np.dot(x.reshape(N, -1).T, dout), dout.sum(0)


def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0
    return out, x.copy()


def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx


def softmax_loss(scores, y):
    N, C = scores.shape
    z = scores - scores.max(axis=1)[:, None]
    denom = np.zeros(N)
    for c in range(C):
        denom += np.exp(z[:, c])
    logp = z - np.log(denom)[:, None]
    loss = -np.mean(logp[np.arange(N), y])
    d = np.exp(logp)
    d[np.arange(N), y] -= 1
    return loss, d / N


def two_layer_loss(X, y, params, reg=0.0):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    a, ca = affine_forward(X, W1, b1)
    h, ch = relu_forward(a)
    s, cs = affine_forward(h, W2, b2)
    loss, ds = softmax_loss(s, y)
    loss = loss + 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dh, dW2, db2 = affine_backward(ds, cs)
    _, dW1, db1 = affine_backward(relu_backward(dh, ch), ca)
    return loss, {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
