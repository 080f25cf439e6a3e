# source: https://github.com/SlightlyCyborg/cs231n-assignment2/blob/929a0b589f33a4076daaccbdb45a2418e3912737/cs231n/layers.py
# verdict: dropout_forward wrong: keeps units with probability 1 - p (p drops, its docstring) but divides the survivors by p instead of 1 - p
# verdict: dropout_backward correct
# expect: inverted_scaling fail you divide by p
"""CS231n 2016, where dropout_param's p is the drop probability: mask = (rand > p) / p keeps the
right units and scales them by 1/p, not 1/(1 - p). Python 2 era code, but these two functions run
unchanged in Python 3.
"""
import numpy as np


# ---- copied verbatim from SlightlyCyborg/cs231n-assignment2 cs231n/layers.py (commit 929a0b589f) ----

def dropout_forward(x, dropout_param):
  """
  Performs the forward pass for (inverted) dropout.

  Inputs:
  - x: Input data, of any shape
  - dropout_param: A dictionary with the following keys:
    - p: Dropout parameter. We drop each neuron output with probability p.
    - mode: 'test' or 'train'. If the mode is train, then perform dropout;
      if the mode is test, then just return the input.
    - seed: Seed for the random number generator. Passing seed makes this
      function deterministic, which is needed for gradient checking but not in
      real networks.

  Outputs:
  - out: Array of the same shape as x.
  - cache: A tuple (dropout_param, mask). In training mode, mask is the dropout
    mask that was used to multiply the input; in test mode, mask is None.
  """
  p, mode = dropout_param['p'], dropout_param['mode']
  if 'seed' in dropout_param:
    np.random.seed(dropout_param['seed'])

  mask = None
  out = None

  if mode == 'train':
    ###########################################################################
    # TODO: Implement the training phase forward pass for inverted dropout.   #
    # Store the dropout mask in the mask variable.                            #
    ###########################################################################
    mask = (np.random.rand(*x.shape) > p)/p
    out = x*mask 
    ###########################################################################
    #                            END OF YOUR CODE                             #
    ###########################################################################
  elif mode == 'test':
    ###########################################################################
    # TODO: Implement the test phase forward pass for inverted dropout.       #
    ###########################################################################
    out = x
    ###########################################################################
    #                            END OF YOUR CODE                             #
    ###########################################################################

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
    ###########################################################################
    # TODO: Implement the training phase backward pass for inverted dropout.  #
    ###########################################################################
    dx = cache[1] * dout
    ###########################################################################
    #                            END OF YOUR CODE                             #
    ###########################################################################
  elif mode == 'test':
    dx = dout
  return dx


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
_their_dropout_forward = dropout_forward


def dropout_forward(x, p, train, rng):
    """The contract's p is the drop probability; their dropout_param's p is the DROP probability (their docstring: "We drop each neuron output with probability p").
    Their mask comes from np.random: it is seeded from rng for the call and the global
    generator's state is put back afterwards, so the randomness comes from rng only."""
    param = {"p": p, "mode": "train" if train else "test"}
    if not train:
        return _their_dropout_forward(x, param)
    state = np.random.get_state()
    np.random.seed(int(rng.integers(2**32)))
    try:
        return _their_dropout_forward(x, param)
    finally:
        np.random.set_state(state)
