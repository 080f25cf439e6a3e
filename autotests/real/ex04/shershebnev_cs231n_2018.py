# source: https://github.com/Shershebnev/cs231n_assignment2/blob/029899df8053f0010bcbc9507dead7a8dbabf273/cs231n/layers.py
# verdict: dropout_forward wrong: with p the keep probability (its docstring) the mask keeps units with probability 1 - p: keep and drop swapped
# verdict: dropout_backward correct
# expect: keep_fraction fail keep and drop probability are swapped
"""CS231n 2018, where dropout_param's p is the keep probability; this forward draws
mask = (rand < (1 - p)) / (1 - p), the drop-probability formula, so it keeps the units it should
drop. The backward multiplies dout by the cached mask, which is right code; its mask carries the
forward's wrong scale, so the backward check (which names both functions) fails with it.
"""
from builtins import range
import numpy as np


# ---- copied verbatim from Shershebnev/cs231n_assignment2 cs231n/layers.py (commit 029899df80) ----

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
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])

    mask = None
    out = None

    if mode == 'train':
        #######################################################################
        # TODO: Implement training phase forward pass for inverted dropout.   #
        # Store the dropout mask in the mask variable.                        #
        #######################################################################
        mask = (np.random.rand(*x.shape) < (1 - p)) / (1 - p)
        out = x * mask
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################
    elif mode == 'test':
        #######################################################################
        # TODO: Implement the test phase forward pass for inverted dropout.   #
        #######################################################################
        out = x
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
    mode = dropout_param['mode']

    dx = None
    if mode == 'train':
        #######################################################################
        # TODO: Implement training phase backward pass for inverted dropout   #
        #######################################################################
        dx = dout * mask
        #######################################################################
        #                          END OF YOUR CODE                           #
        #######################################################################
    elif mode == 'test':
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
