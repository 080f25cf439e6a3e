# source: https://github.com/Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition/blob/14413a47c6c54c98c2a02a09c85fed747af296ba/cs231n/layers.py
# verdict: dropout_forward correct
# verdict: dropout_backward correct
"""CS231n 2020 inverted dropout: mask = (rand < p) / p with p the keep probability, out = x * mask
in training and x at test time; the backward multiplies dout by the cached mask.
"""
from builtins import range
import numpy as np


# ---- copied verbatim from Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition cs231n/layers.py (commit 14413a47c6) ----

def dropout_forward(x, dropout_param):
    """
    Performs the forward pass for (inverted) dropout.

    Inputs:
    - x: Input data, of any shape
    - dropout_param: A dictionary with the following keys:
      - p: Dropout parameter. We keep each neuron output with probability p.
      - mode: 'test' or 'train'. If the mode is train, then perform dropout;
        if the mode is test, then just return the input.
      - seed: Seed for the random number generator. Passing seed makes this
        function deterministic, which is needed for gradient checking but not
        in real networks.

    Outputs:
    - out: Array of the same shape as x.
    - cache: tuple (dropout_param, mask). In training mode, mask is the dropout
      mask that was used to multiply the input; in test mode, mask is None.

    NOTE: Please implement **inverted** dropout, not the vanilla version of dropout.
    See http://cs231n.github.io/neural-networks-2/#reg for more details.

    NOTE 2: Keep in mind that p is the probability of **keep** a neuron
    output; this might be contrary to some sources, where it is referred to
    as the probability of dropping a neuron output.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None

    if mode == "train":
        #######################################################################
        # TODO: Implement training phase forward pass for inverted dropout.   #
        # Store the dropout mask in the mask variable.                        #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        
        mask = (np.random.rand(*x.shape) < p) / p
        out = x*mask # drop!

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################
    elif mode == "test":
        #######################################################################
        # TODO: Implement the test phase forward pass for inverted dropout.   #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        out = x

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                            END OF YOUR CODE                         #
        #######################################################################

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)

    return out, cache


def dropout_backward(dout, cache):
    """
    Perform the backward pass for (inverted) dropout.

    Inputs:
    - dout: Upstream derivatives, of any shape
    - cache: (dropout_param, mask) from dropout_forward.
    """
    dropout_param, mask = cache
    mode = dropout_param["mode"]

    dx = None
    if mode == "train":
        #######################################################################
        # TODO: Implement training phase backward pass for inverted dropout   #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = dout*mask

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                          END OF YOUR CODE                           #
        #######################################################################
    elif mode == "test":
        dx = dout
    return dx


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
_their_dropout_forward = dropout_forward


def dropout_forward(x, p, train, rng):
    """The contract's p is the drop probability; their dropout_param's p is the KEEP probability (their docstring: "We keep each neuron output with probability p").
    Their mask comes from np.random: it is seeded from rng for the call and the global
    generator's state is put back afterwards, so the randomness comes from rng only."""
    param = {"p": 1.0 - p, "mode": "train" if train else "test"}
    if not train:
        return _their_dropout_forward(x, param)
    state = np.random.get_state()
    np.random.seed(int(rng.integers(2**32)))
    try:
        return _their_dropout_forward(x, param)
    finally:
        np.random.set_state(state)
