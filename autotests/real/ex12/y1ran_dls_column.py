# source: https://github.com/Y1ran/Introduction-to-Machine-Learning-with-Python-code/blob/b69f136c4d9c6ba0faf549287edbc3550783a31f/Deep_learning/propagate.py
# source: https://github.com/Y1ran/Introduction-to-Machine-Learning-with-Python-code/blob/b69f136c4d9c6ba0faf549287edbc3550783a31f/Deep_learning/Optimize.py
# source: https://github.com/Y1ran/Introduction-to-Machine-Learning-with-Python-code/blob/b69f136c4d9c6ba0faf549287edbc3550783a31f/Deep_learning/Sigmoid.py
# source: https://github.com/Y1ran/Introduction-to-Machine-Learning-with-Python-code/blob/b69f136c4d9c6ba0faf549287edbc3550783a31f/Deep_learning/initialize_with_zeros.py
# verdict: logistic_loss wrong: np.log(A) with A = 1/(1+np.exp(-z)) overflows (RuntimeWarning) for z < -709 and gives inf/nan once A rounds to 0 or 1; no L2 term, so reg is ignored
# verdict: train_logistic wrong: keeps the cost only when i % 100 == 0 (one cost for up to 100 iterations); reg is ignored
# expect: stability fail overflow
# expect: default_reg pass
# expect: loss_values fail reg is ignored
# expect: train_trajectory fail every 100
"""Deep Learning Specialization, course 1 week 2 ("Logistic Regression with a Neural Network
mindset", 2018), one module per function. Unlike the notebook's A = sigmoid(w.T @ X + b), a row,
this student computes the activations as a column, A = sigmoid(X.T @ w + b) of shape (m, 1),
and uses Y.T and np.dot(Y, np.log(A)) accordingly: the same values. The modules rely on the
notebook's `import numpy as np`; the import is added here.

Wrapper (no arithmetic): their layout is X (D, N), Y (1, N), w (D, 1), so logistic_loss passes
X.T, y as a row and w as a column and flattens dw to (D,); reg is accepted and not used (the
assignment has no regularisation). train_logistic initialises with their initialize_with_zeros
(as their model() does), calls their optimize and returns their costs list unchanged.
"""
import numpy as np


# ---- copied verbatim from Y1ran/Introduction-to-Machine-Learning-with-Python-code Deep_learning/Sigmoid.py (commit b69f136c4d) ----

# GRADED FUNCTION: sigmoid

def sigmoid(z):
    """
    Compute the sigmoid of z

    Arguments:
    z -- A scalar or numpy array of any size.

    Return:
    s -- sigmoid(z)
    """

    ### START CODE HERE ### (≈ 1 line of code)
    s = 1 / (1 + np.exp(-(z)))
    ### END CODE HERE ###
    
    return s


# ---- copied verbatim from Deep_learning/initialize_with_zeros.py (commit b69f136c4d) ----

def initialize_with_zeros(dim):
    """
    This function creates a vector of zeros of shape (dim, 1) for w and initializes b to 0.
    
    Argument:
    dim -- size of the w vector we want (or number of parameters in this case)
    
    Returns:
    w -- initialized vector of shape (dim, 1)
    b -- initialized scalar (corresponds to the bias)
    """
    
    ### START CODE HERE ### (≈ 1 line of code)
    w = np.zeros((dim,1))
    b = 0
    ### END CODE HERE ###

    assert(w.shape == (dim, 1))
    assert(isinstance(b, float) or isinstance(b, int))
    
    return w, b


# ---- copied verbatim from Deep_learning/propagate.py (commit b69f136c4d), docstring shortened ----

def propagate(w, b, X, Y):
    """
    Implement the cost function and its gradient for the propagation explained above
    """
    m = X.shape[1]
    
    # FORWARD PROPAGATION (FROM X TO COST)
    ### START CODE HERE ### (≈ 2 lines of code)
    A = sigmoid(np.dot(X.T ,w) + b)                                  # compute activation
    cost = -1 / m * (np.dot(Y,np.log(A)) + np.dot((1 - Y), np.log(1 - A)))                           # compute cost
    ### END CODE HERE ###
    
    # BACKWARD PROPAGATION (TO FIND GRAD)
    ### START CODE HERE ### (≈ 2 lines of code)
    import math
    dw = 1 / m * np.dot(X, (A - Y.T))
    db = 1 / m * np.sum((A - Y.T).T)
    ### END CODE HERE ###

    assert(dw.shape == w.shape)
    assert(db.dtype == float)
    cost = np.squeeze(cost)
    assert(cost.shape == ())
    
    grads = {"dw": dw,
             "db": db}
    
    return grads, cost


# ---- copied verbatim from Deep_learning/Optimize.py (commit b69f136c4d), docstring shortened ----

def optimize(w, b, X, Y, num_iterations, learning_rate, print_cost = False):
    """
    This function optimizes w and b by running a gradient descent algorithm
    """
    
    costs = []
    
    for i in range(num_iterations):
        
        
        # Cost and gradient calculation (≈ 1-4 lines of code)
        ### START CODE HERE ### 
        grads, cost = propagate(w, b, X, Y)
        ### END CODE HERE ###
        
        # Retrieve derivatives from grads
        dw = grads["dw"]
        db = grads["db"]
        
        # update rule (≈ 2 lines of code)
        ### START CODE HERE ###
        w = w - learning_rate * dw
        b = b - learning_rate * db
        ### END CODE HERE ###
        
        # Record the costs
        if i % 100 == 0:
            costs.append(cost)
        
        # Print the cost every 100 training iterations
        if print_cost and i % 100 == 0:
            print ("Cost after iteration %i: %f" %(i, cost))
    
    params = {"w": w,
              "b": b}
    
    grads = {"dw": dw,
             "db": db}
    
    return params, grads, costs


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----

def logistic_loss(w, b, X, y, reg=0.0):
    """X (N, D) -> their X (D, N); y (N,) -> Y (1, N); w (D,) -> (D, 1); reg unused."""
    grads, cost = propagate(w.reshape(-1, 1), b, X.T, y.reshape(1, -1))
    return cost, grads["dw"].reshape(-1), grads["db"]


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    """Their model(): initialize_with_zeros(D), then optimize; reg unused."""
    w, b = initialize_with_zeros(X.shape[1])
    params, grads, costs = optimize(w, b, X.T, y.reshape(1, -1), num_iters, learning_rate)
    return params["w"].reshape(-1), params["b"], costs
