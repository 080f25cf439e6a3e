"""ex01 whose functions raise with a message of ANSI escapes, control characters, a lone
surrogate, a GitHub workflow command, markdown/HTML and XML-forbidden characters."""
import numpy as np


def sigmoid(z):
    raise ValueError("\x1b[2J\x1b[31mPASS\x1b[0m\r\x00\x07\x0b\ud800 \udfff\n::set-output name=x::1"
                     "\n<script>alert(1)</script> | **bold** ]]> \ufffe\x7f\x9b")


def sigmoid_grad(z):
    return np.zeros_like(z)
