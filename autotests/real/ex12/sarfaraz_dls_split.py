# source: https://github.com/Sarfaraz-Ali/Image_recognization/blob/f0eea8e71a425d4c6e920270a83b39280ca0a404/propagate.py
# source: https://github.com/Sarfaraz-Ali/Image_recognization/blob/f0eea8e71a425d4c6e920270a83b39280ca0a404/optimize.py
# source: https://github.com/Sarfaraz-Ali/Image_recognization/blob/f0eea8e71a425d4c6e920270a83b39280ca0a404/sigmoid.py
# source: https://github.com/Sarfaraz-Ali/Image_recognization/blob/f0eea8e71a425d4c6e920270a83b39280ca0a404/model.py
# verdict: logistic_loss wrong: np.log(A) of A = 1/(1+np.exp(-z)) overflows (RuntimeWarning) for z < -709 and takes log(0) = -inf once A rounds to 0 or 1 (|z| > 37); and there is no L2 term, so reg is ignored
# verdict: train_logistic wrong: records the cost only every 100 iterations (1 cost for 30 iterations, 1 for 100) instead of before each update; and reg is ignored
# expect: stability fail overflow
# expect: default_reg pass
# expect: loss_values fail reg is ignored
# expect: train_trajectory fail every 100
"""Deep Learning Specialization, course 1 week 2, "Logistic Regression with a Neural Network
mindset", split by the student into one module per function (sigmoid.py, propagate.py,
optimize.py, model.py). The assignment has no regularisation, and optimize keeps the cost every
100 iterations (for the learning-curve plot), as the notebook asks.

Wrapper (no arithmetic): the notebook's layout is X (D, N), Y (1, N), w (D, 1), so
logistic_loss passes X.T, y as a row and w as a column, and flattens dw back to (D,); reg is
accepted and not used (the student's propagate has none). train_logistic initialises w and b
as the student's model() does (a (D, 1) zero column, b = 0), calls their optimize and returns
their costs list unchanged; reg is accepted and not used.
"""
import numpy as np


# ---- copied verbatim from Sarfaraz-Ali/Image_recognization sigmoid.py (commit f0eea8e71a) ----

def sigmoid(z):

    return  ( 1/(1+np.exp(-z)) )


# ---- copied verbatim from Sarfaraz-Ali/Image_recognization propagate.py (commit f0eea8e71a) ----

def propagate(w, b, X, Y):
    
    
    m = X.shape[1]
    
    A = sigmoid(np.dot(w.T,X)+b)                                
    cost = -np.sum((Y*np.log(A))+((1-Y)*np.log(1-A)))/m         
    
    dw = np.dot(X,(A-Y).T)/m
    db = np.sum((A-Y)/m)
    
    cost = np.squeeze(cost)
        
    grads = {"dw": dw,
             "db": db}
    
    return grads, cost


# ---- copied verbatim from Sarfaraz-Ali/Image_recognization optimize.py (commit f0eea8e71a) ----

def optimize(w, b, X, Y, num_iterations, learning_rate, print_cost = False):
    
    
    costs = []
    
    for i in range(num_iterations):
        
        
        grads, cost = propagate(w,b,X,Y)
        
        dw = grads["dw"]
        db = grads["db"]
        
        w = w - (learning_rate * dw) 
        b = b - (learning_rate * db)
        
       
        if i % 100 == 0:
            costs.append(cost)
        
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
    """Their model(): w = np.zeros(D).reshape(D, 1), b = 0, then optimize; reg unused."""
    w = np.zeros(X.shape[1]).reshape(X.shape[1], 1)
    b = 0
    params, grads, costs = optimize(w, b, X.T, y.reshape(1, -1), num_iters, learning_rate)
    return params["w"].reshape(-1), params["b"], costs
