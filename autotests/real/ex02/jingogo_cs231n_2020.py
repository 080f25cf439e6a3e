# source: https://github.com/Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition/blob/14413a47c6c54c98c2a02a09c85fed747af296ba/cs231n/layers.py
# source: https://github.com/Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition/blob/14413a47c6c54c98c2a02a09c85fed747af296ba/cs231n/layer_utils.py
# source: https://github.com/Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition/blob/14413a47c6c54c98c2a02a09c85fed747af296ba/cs231n/classifiers/fc_net.py
# verdict: affine_forward correct
# verdict: affine_backward correct
# verdict: relu_forward correct
# verdict: relu_backward correct
# verdict: softmax_loss correct
# verdict: two_layer_loss correct
"""A CS231n assignment 2 (2020) solution: layers.py's affine, ReLU and the course-provided softmax
loss, layer_utils' affine_relu sandwich, and fc_net's TwoLayerNet (0.5 * reg * ||W||^2, as the
contract). Reading: every function computes the contract's formula; relu_backward passes nothing
at x == 0 (dx[x > 0] = 1).
"""
from builtins import range
from builtins import object
import numpy as np


# ---- copied verbatim from Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition cs231n/layers.py (commit 14413a47c6) ----

def affine_forward(x, w, b):
    """
    Computes the forward pass for an affine (fully-connected) layer.

    The input x has shape (N, d_1, ..., d_k) and contains a minibatch of N
    examples, where each example x[i] has shape (d_1, ..., d_k). We will
    reshape each input into a vector of dimension D = d_1 * ... * d_k, and
    then transform it to an output vector of dimension M.

    Inputs:
    - x: A numpy array containing input data, of shape (N, d_1, ..., d_k)
    - w: A numpy array of weights, of shape (D, M)
    - b: A numpy array of biases, of shape (M,)

    Returns a tuple of:
    - out: output, of shape (N, M)
    - cache: (x, w, b)
    """
    out = None
    ###########################################################################
    # TODO: Implement the affine forward pass. Store the result in out. You   #
    # will need to reshape the input into rows.                               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = np.matmul(x.reshape((x.shape[0],-1)), w) + b

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """
    Computes the backward pass for an affine layer.

    Inputs:
    - dout: Upstream derivative, of shape (N, M)
    - cache: Tuple of:
      - x: Input data, of shape (N, d_1, ... d_k)
      - w: Weights, of shape (D, M)
      - b: Biases, of shape (M,)

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, d1, ..., d_k)
    - dw: Gradient with respect to w, of shape (D, M)
    - db: Gradient with respect to b, of shape (M,)
    """
    x, w, b = cache
    dx, dw, db = None, None, None
    ###########################################################################
    # TODO: Implement the affine backward pass.                               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = np.matmul(dout, w.transpose()).reshape(x.shape)
    dw = np.matmul(x.reshape((x.shape[0],-1)).transpose(), dout)
    db = np.sum(dout, axis=0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx, dw, db


def relu_forward(x):
    """
    Computes the forward pass for a layer of rectified linear units (ReLUs).

    Input:
    - x: Inputs, of any shape

    Returns a tuple of:
    - out: Output, of the same shape as x
    - cache: x
    """
    out = None
    ###########################################################################
    # TODO: Implement the ReLU forward pass.                                  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = np.maximum(0,x)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """
    Computes the backward pass for a layer of rectified linear units (ReLUs).

    Input:
    - dout: Upstream derivatives, of any shape
    - cache: Input x, of same shape as dout

    Returns:
    - dx: Gradient with respect to x
    """
    dx, x = None, cache
    ###########################################################################
    # TODO: Implement the ReLU backward pass.                                 #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    
    dx = np.zeros(x.shape)
    dx[x>0]=1
    dx = dx*dout

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx


def softmax_loss(x, y):
    """
    Computes the loss and gradient for softmax classification.

    Inputs:
    - x: Input data, of shape (N, C) where x[i, j] is the score for the jth
      class for the ith input.
    - y: Vector of labels, of shape (N,) where y[i] is the label for x[i] and
      0 <= y[i] < C

    Returns a tuple of:
    - loss: Scalar giving the loss
    - dx: Gradient of the loss with respect to x
    """
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


# ---- copied verbatim from Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition cs231n/layer_utils.py (commit 14413a47c6) ----

def affine_relu_forward(x, w, b, normalization=None, gamma=None, beta=None,
                        bn_param=None, use_dropout=False, dropout_param=None):
    """
    Convenience layer that perorms an affine transform followed by a ReLU

    Inputs:
    - x: Input to the affine layer
    - w, b: Weights for the affine layer

    Returns a tuple of:
    - out: Output from the ReLU
    - cache: Object to give to the backward pass
    """
    batch_cache = None
    dropout_cache = None
    out, fc_cache = affine_forward(x, w, b)

    if normalization == "batchnorm":
        out, batch_cache = batchnorm_forward(out, gamma, beta, bn_param)

    if normalization == "layernorm":
        out, batch_cache = layernorm_forward(out, gamma, beta, bn_param)

    out, relu_cache = relu_forward(out)

    if dropout_param:
        out, dropout_cache = dropout_forward(out, dropout_param)

    cache = (fc_cache, batch_cache, relu_cache, dropout_cache)
    return out, cache


def affine_relu_backward(dout, cache, normalization=None, use_dropout=False):
    """
    Backward pass for the affine-relu convenience layer
    """
    fc_cache, batch_cache, relu_cache, dropout_cache = cache

    if use_dropout:
        dout = dropout_backward(dout, dropout_cache)

    dout = relu_backward(dout, relu_cache)

    if normalization == "batchnorm":
        dout, dgamma, dbeta = batchnorm_backward_alt(dout, batch_cache)
    if normalization == "layernorm":
        dout, dgamma, dbeta = layernorm_backward(dout, batch_cache)
  
    dx, dw, db = affine_backward(dout,fc_cache)
    
    if normalization == None:
        return dx, dw, db
    else:
        return dx, dw, db, dgamma, dbeta        


# ---- copied verbatim from Jingogo/Solution_CS231n_CNNs_for_Visual_Recognition cs231n/classifiers/fc_net.py (commit 14413a47c6) ----

class TwoLayerNet(object):
    """
    A two-layer fully-connected neural network with ReLU nonlinearity and
    softmax loss that uses a modular layer design. We assume an input dimension
    of D, a hidden dimension of H, and perform classification over C classes.

    The architecure should be affine - relu - affine - softmax.

    Note that this class does not implement gradient descent; instead, it
    will interact with a separate Solver object that is responsible for running
    optimization.

    The learnable parameters of the model are stored in the dictionary
    self.params that maps parameter names to numpy arrays.
    """

    def __init__(
        self,
        input_dim=3 * 32 * 32,
        hidden_dim=100,
        num_classes=10,
        weight_scale=1e-3,
        reg=0.0,
    ):
        """
        Initialize a new network.

        Inputs:
        - input_dim: An integer giving the size of the input
        - hidden_dim: An integer giving the size of the hidden layer
        - num_classes: An integer giving the number of classes to classify
        - weight_scale: Scalar giving the standard deviation for random
          initialization of the weights.
        - reg: Scalar giving L2 regularization strength.
        """
        self.params = {}
        self.reg = reg

        ############################################################################
        # TODO: Initialize the weights and biases of the two-layer net. Weights    #
        # should be initialized from a Gaussian centered at 0.0 with               #
        # standard deviation equal to weight_scale, and biases should be           #
        # initialized to zero. All weights and biases should be stored in the      #
        # dictionary self.params, with first layer weights                         #
        # and biases using the keys 'W1' and 'b1' and second layer                 #
        # weights and biases using the keys 'W2' and 'b2'.                         #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        self.params['W1'] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params['b1'] = np.zeros(hidden_dim)
        self.params['W2'] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params['b2'] = np.zeros(num_classes)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

    def loss(self, X, y=None):
        """
        Compute loss and gradient for a minibatch of data.

        Inputs:
        - X: Array of input data of shape (N, d_1, ..., d_k)
        - y: Array of labels, of shape (N,). y[i] gives the label for X[i].

        Returns:
        If y is None, then run a test-time forward pass of the model and return:
        - scores: Array of shape (N, C) giving classification scores, where
          scores[i, c] is the classification score for X[i] and class c.

        If y is not None, then run a training-time forward and backward pass and
        return a tuple of:
        - loss: Scalar value giving the loss
        - grads: Dictionary with the same keys as self.params, mapping parameter
          names to gradients of the loss with respect to those parameters.
        """
        scores = None
        ############################################################################
        # TODO: Implement the forward pass for the two-layer net, computing the    #
        # class scores for X and storing them in the scores variable.              #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        out1, cache1 = affine_relu_forward(X, self.params['W1'], self.params['b1'])
        scores, cache2 = affine_forward(out1, self.params['W2'], self.params['b2'])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        # If y is None then we are in test mode so just return scores
        if y is None:
            return scores

        loss, grads = 0, {}
        ############################################################################
        # TODO: Implement the backward pass for the two-layer net. Store the loss  #
        # in the loss variable and gradients in the grads dictionary. Compute data #
        # loss using softmax, and make sure that grads[k] holds the gradients for  #
        # self.params[k]. Don't forget to add L2 regularization!                   #
        #                                                                          #
        # NOTE: To ensure that your implementation matches ours and you pass the   #
        # automated tests, make sure that your L2 regularization includes a factor #
        # of 0.5 to simplify the expression for the gradient.                      #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        reg = self.reg
        W1, W2 = self.params['W1'], self.params['W2']

        loss, d_scores = softmax_loss(scores, y)
        loss += 0.5*reg * (np.sum(W1*W1) +  np.sum(W2*W2))   
        dout1, dW2, db2= affine_backward(d_scores, cache2)
        _, dW1, db1 = affine_relu_backward(dout1, cache1)

        grads["W1"] = dW1 + reg*W1
        grads["b1"] = db1
        grads["W2"] = dW2 + reg*W2
        grads["b2"] = db2

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        return loss, grads


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----
_their_softmax_loss = softmax_loss


def softmax_loss(scores, y):
    """The contract names the scores `scores`; theirs are `x`."""
    return _their_softmax_loss(scores, y)


def two_layer_loss(X, y, params, reg=0.0):
    """Their TwoLayerNet.loss on the given parameters (its __init__ would draw new ones)."""
    net = TwoLayerNet.__new__(TwoLayerNet)
    net.params, net.reg = params, reg
    return net.loss(X, y)
