# expect: full
# A differently written correct submission: logsumexp softmax, einsum, explicit one-hot.
import numpy as np


def affine_forward(x, w, b):
    out = np.einsum("nd,dm->nm", x.reshape(len(x), -1), w) + b[None, :]
    return out, {"x": x, "w": w}


def affine_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
    dw = np.einsum("nd,nm->dm", x.reshape(len(x), -1), dout)
    return dx, dw, np.sum(dout, axis=0)


def relu_forward(x):
    mask = x > 0
    return np.where(mask, x, 0.0), mask


def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)


def softmax_loss(scores, y):
    n, c = scores.shape
    m = np.max(scores, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(scores - m), axis=1, keepdims=True))
    onehot = np.eye(c)[y]
    loss = np.sum(onehot * (lse - scores)) / n
    p = np.exp(scores - lse)
    return loss, (p - onehot) / n


def two_layer_loss(X, y, params, reg=0.0):
    h, c1 = affine_forward(X, params["W1"], params["b1"])
    r, c2 = relu_forward(h)
    s, c3 = affine_forward(r, params["W2"], params["b2"])
    loss, ds = softmax_loss(s, y)
    loss += 0.5 * reg * sum(np.sum(params[k] ** 2) for k in ("W1", "W2"))
    dr, dW2, db2 = affine_backward(ds, c3)
    dh = relu_backward(dr, c2)
    _, dW1, db1 = affine_backward(dh, c1)
    return loss, {"W1": dW1 + reg * params["W1"], "b1": db1,
                  "W2": dW2 + reg * params["W2"], "b2": db2}
