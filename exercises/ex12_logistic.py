"""Exercise 12: logistic regression trained by batch gradient descent with L2 regularisation.

p = σ(X·w + b) is the model's probability of the label 1. The loss is the mean binary
cross-entropy plus 0.5·reg·‖w‖² (the bias is not regularised). Written naively, log(σ(z)) takes
log of 0 once z < -745 and exp(-z) overflows once z < -709; the stable form is
log(1 + e^z) - y·z = np.logaddexp(0, z) - y·z.

Source: Cox, "The regression analysis of binary sequences", JRSS B 1958; Bishop, Pattern
Recognition and Machine Learning (2006), §4.3.2 (the gradient X^T(p - y)).
"""
import numpy as np


def logistic_loss(w, b, X, y, reg=0.0):
    """Loss and gradients of L2-regularised logistic regression.

    Formula (z = X·w + b, p = σ(z)):
        loss = mean_n [log(1 + e^(z_n)) - y_n z_n] + 0.5·reg·‖w‖²
        dw = X^T (p - y) / N + reg·w,     db = mean_n (p_n - y_n)

    Args:
        w: np.ndarray (D,), float64. b: float.
        X: np.ndarray (N, D), float64. y: np.ndarray (N,), float64 labels in {0, 1}.
        reg: float >= 0, the L2 strength (on w only).

    Returns:
        (loss, dw, db): loss a float, dw np.ndarray (D,) float64, db a float. Inputs unchanged.

    Raises:
        Nothing for finite input; finite and warning-free for |X·w + b| up to 1e4.
    """
    # TODO: compute the stable loss (np.logaddexp), the stable sigmoid and the gradients
    raise NotImplementedError('compute the stable loss (np.logaddexp), the stable sigmoid and the gradients')


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    """Batch gradient descent on logistic_loss from w = 0, b = 0.

    Each iteration: (loss, dw, db) = logistic_loss(w, b, X, y, reg); record loss (BEFORE the
    update); w = w - learning_rate·dw; b = b - learning_rate·db.

    Args:
        X: np.ndarray (N, D) float64. y: np.ndarray (N,) float64 in {0, 1}.
        learning_rate: float. num_iters: int >= 0. reg: float >= 0.

    Returns:
        (w, b, losses): w (D,) float64, b a float, losses a list of num_iters floats.

    Raises:
        Nothing for finite input.
    """
    # TODO: start from zeros, record the loss before each update, step against the gradient
    raise NotImplementedError('start from zeros, record the loss before each update, step against the gradient')
