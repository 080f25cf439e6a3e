"""ex01 whose functions raise with a 1 MB message (many lines and one long line)."""
import numpy as np


def sigmoid(z):
    raise RuntimeError("x" * 1_000_000 + "\n" * 50_000)


def sigmoid_grad(z):
    return np.zeros_like(z)
