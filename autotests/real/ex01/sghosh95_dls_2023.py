# source: https://github.com/Sghosh95/DL/blob/94d5831efd9bbc2d22c1a134b623ffb5acb232ad/basic/sigmoid.py
# verdict: sigmoid wrong: 1/(1+np.exp(-x)) overflows (RuntimeWarning, exp(-x) = inf) for x < -709
# verdict: sigmoid_grad wrong: recomputes the same 1/(1+np.exp(-x)), which overflows for x < -709
# expect: stability fail overflow
# expect: sigmoid_values pass
# expect: sigmoid_grad_values pass
"""Deep Learning Specialization, course 1, "Python Basics with Numpy" (a 2023 submission): the
textbook 1/(1+exp(-x)) in both functions. Right values for moderate x; for x below about -709
exp(-x) overflows to inf with a RuntimeWarning (the contract asks for no warning up to |z| = 1e4).
The module-level prints of the notebook export are left out.
"""
import numpy as np


# ---- copied verbatim from Sghosh95/DL basic/sigmoid.py (commit 94d5831efd) ----

def sigmoid(x):
    """
    Compute the sigmoid of x

    Arguments:
    x -- A scalar or numpy array of any size

    Return:
    s -- sigmoid(x)
    """
    
    # (≈ 1 line of code)
    # s = 
    # YOUR CODE STARTS HERE
    s=1/(1+np.exp(-x))
    
    # YOUR CODE ENDS HERE
    
    return s


def sigmoid_derivative(x):
    """
    Compute the gradient (also called the slope or derivative) of the sigmoid function with respect to its input x.
    You can store the output of the sigmoid function into variables and then use it to calculate the gradient.
    
    Arguments:
    x -- A scalar or numpy array

    Return:
    ds -- Your computed gradient.
    """
    
    #(≈ 2 lines of code)
    # s = 
    # ds = 
    # YOUR CODE STARTS HERE
    s=1/(1+np.exp(-x))
    ds=s*(1-s)
    
    # YOUR CODE ENDS HERE
    
    return ds


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
_their_sigmoid = sigmoid


def sigmoid(z):
    return _their_sigmoid(z)


def sigmoid_grad(z):
    """The contract calls it sigmoid_grad(z); theirs is sigmoid_derivative(x)."""
    return sigmoid_derivative(z)
