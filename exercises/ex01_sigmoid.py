"""Exercise 1: the sigmoid function and its derivative.

The logistic sigmoid σ(z) = 1 / (1 + e^(-z)) turns a score into a probability and is the gate
non-linearity of LSTMs (exercise 7). Written naively it overflows: e^(-z) is larger than the
largest float64 once z < -709, numpy warns "overflow encountered in exp" and a NaN or inf may
follow. The cure is to only ever exponentiate non-positive numbers.

Source: the logistic function (Verhulst 1838); its use as a neuron non-linearity in Rumelhart,
Hinton & Williams, "Learning representations by back-propagating errors", Nature 1986.
"""
import numpy as np


def sigmoid(z):
    """Elementwise logistic sigmoid, numerically stable for any input.

    Formula:
        σ(z) = 1 / (1 + e^(-z))          for z >= 0
        σ(z) = e^(z) / (1 + e^(z))       for z < 0   (the same value, without overflow)

    Args:
        z: np.ndarray of any shape, dtype float64.

    Returns:
        s: np.ndarray, same shape and dtype as z, every element in [0, 1]. z is not modified.

    Raises:
        Nothing for finite input; finite and warning-free for |z| up to 1e4 and beyond.

    Hint: compute e = np.exp(-np.abs(z)) once (it is always in (0, 1]) and choose the form per
    element with np.where(z >= 0, ..., ...).
    """
    # TODO: return the elementwise sigmoid of z without overflowing for large |z|
    raise NotImplementedError('return the elementwise sigmoid of z without overflowing for large |z|')


def sigmoid_grad(z):
    """Derivative of the sigmoid with respect to its input, elementwise.

    Formula:
        σ'(z) = σ(z) · (1 − σ(z))

    Args:
        z: np.ndarray of any shape, dtype float64 (the input of the sigmoid, not its output).

    Returns:
        np.ndarray, same shape and dtype as z, every element in [0, 0.25]. z is not modified.

    Raises:
        Nothing for finite input.

    Hint: reuse your stable sigmoid; σ'(z) for |z| = 1e4 is 0 and must not warn.
    """
    # TODO: return sigmoid(z) * (1 - sigmoid(z)), elementwise
    raise NotImplementedError('return sigmoid(z) * (1 - sigmoid(z)), elementwise')
