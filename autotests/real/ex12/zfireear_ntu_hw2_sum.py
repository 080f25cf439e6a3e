# source: https://github.com/zfireear/Machine-Learning/blob/9114150972db1f3e0143042a448aab707cd350ab/logistic_regression/lrcode.md
# verdict: logistic_loss wrong: the cross-entropy and the gradients are sums over the N examples, not means; the sigmoid's np.exp(-z) overflows (RuntimeWarning) for z < -709 and its clip to [1e-8, 1 - 1e-8] caps every per-example loss at -log(1e-8) = 18.4 (the loss is wrong for |z| > 18); no L2 term (reg ignored)
# verdict: train_logistic absent: the notes have no training function (the homework trains in a script loop)
# expect: loss_values fail sum over the N examples
# expect: gradient_numeric fail reg is ignored
# expect: stability fail caps each example
"""Machine-learning course notes (Hung-yi Lee's ML 2020, homework 2, "logistic regression" sample
code, kept as a Markdown code block): a clipped sigmoid, the cross-entropy as a dot product
summed over the batch, and the gradient summed over the batch (the homework divides by nothing
and tunes the learning rate instead). The code block relies on the notebook's `import numpy as
np`; the import is added here. _predict and _accuracy are left out (not graded).

Wrapper (no arithmetic): logistic_loss computes their y_pred = _f(X, w, b), their
_cross_entropy_loss(y_pred, y) and their _gradient(X, y, w, b); reg is accepted and not used.
train_logistic is absent (raises NotImplementedError).
"""
import numpy as np


# ---- copied verbatim from zfireear/Machine-Learning logistic_regression/lrcode.md (commit 9114150972) ----

def _sigmoid(z):
    # Sigmoid function can be used to calculate probability.
    # To avoid overflow, minimum/maximum output value is set.
    return np.clip(1 / (1.0 + np.exp(-z)), 1e-8, 1 - (1e-8))

def _f(X, w, b):
    # This is the logistic regression function, parameterized by w and b
    #
    # Arguements:
    #     X: input data, shape = [batch_size, data_dimension]
    #     w: weight vector, shape = [data_dimension, ]
    #     b: bias, scalar
    # Output:
    #     predicted probability of each row of X being positively labeled, shape = [batch_size, ]
    return _sigmoid(np.matmul(X, w) + b)

def _cross_entropy_loss(y_pred, Y_label):
    # This function computes the cross entropy.
    #
    # Arguements:
    #     y_pred: probabilistic predictions, float vector
    #     Y_label: ground truth labels, bool vector
    # Output:
    #     cross entropy, scalar
    cross_entropy = -np.dot(Y_label, np.log(y_pred)) - np.dot((1 - Y_label), np.log(1 - y_pred))
    return cross_entropy

def _gradient(X, Y_label, w, b):
    # This function computes the gradient of cross entropy loss with respect to weight w and bias b.
    y_pred = _f(X, w, b)
    pred_error = Y_label - y_pred
    w_grad = -np.sum(pred_error * X.T, 1)
    b_grad = -np.sum(pred_error)
    return w_grad, b_grad


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----

def logistic_loss(w, b, X, y, reg=0.0):
    """Their _f, _cross_entropy_loss and _gradient; reg unused."""
    y_pred = _f(X, w, b)
    w_grad, b_grad = _gradient(X, y, w, b)
    return _cross_entropy_loss(y_pred, y), w_grad, b_grad


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    """Absent: the notes have no training function."""
    raise NotImplementedError("these notes have no training function")
