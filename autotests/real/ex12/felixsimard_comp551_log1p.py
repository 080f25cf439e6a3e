# source: https://github.com/felixsimard/comp551-p2/blob/3b04c53b9416ee5de05ad3ad5148d3c620991c5f/Gradient.py
# source: https://github.com/felixsimard/comp551-p2/blob/3b04c53b9416ee5de05ad3ad5148d3c620991c5f/LogisticRegression.py
# verdict: logistic_loss wrong: log1p(np.exp(z)) overflows to inf (RuntimeWarning) for z > 709 and log1p(np.exp(-z)) for z < -709, and the logistic 1/(1+np.exp(-z)) of the gradient overflows for z < -709; no L2 term (reg ignored)
# verdict: train_logistic wrong: records no losses; stops early once the gradient norm is at most 1e-4; reg is ignored
# expect: stability fail overflow
# expect: default_reg pass
# expect: loss_values fail reg is ignored
# expect: train_trajectory fail None
"""McGill COMP 551 (2021) mini-project 2, the course's logistic regression: the bias is a
column of ones appended to x (add_bias), cost_fn is the mean of y·log1p(e^-z) + (1-y)·log1p(e^z)
(exact for moderate z, but e^z itself overflows past 709), gradient is a method using self.w,
and fit runs gradient descent on random batches (the full set, shuffled, when batch_size = -1)
until the gradient norm is at most epsilon = 1e-4 or max_iters. fit records no losses.
The class's other fitting variants (fit_for_vis*, which use sklearn and pandas) and
TrainingResults are left out.

Wrapper (no arithmetic): logistic_loss appends the ones column as their fit does
(np.column_stack([x, np.ones(N)])), sets the model's w to [w, b], and calls their cost_fn and
their gradient, whose last entry is db; reg is accepted and not used.
train_logistic builds LogisticRegression(learning_rate=learning_rate, max_iters=num_iters),
calls fit(X, y) and returns (w[:-1], w[-1], None): fit keeps no losses.
"""
import time

import numpy as np


# ---- copied verbatim from felixsimard/comp551-p2 Gradient.py (commit 3b04c53b94) ----

logistic = lambda z: 1./ (1 + np.exp(-z))       #logistic function

def cost_fn(x, y, w):
    N, D = x.shape
    z = np.dot(x, w)
    J = np.mean(y * np.log1p(np.exp(-z)) + (1-y) * np.log1p(np.exp(z)))  #log1p calculates log(1+x) to remove floating point inaccuracies
    return J


# ---- copied verbatim from felixsimard/comp551-p2 LogisticRegression.py (commit 3b04c53b94), fit, gradient and predict only ----

class LogisticRegression:
    
    def __init__(self, add_bias=True, learning_rate=.1, epsilon=1e-4, max_iters=1e5, verbose=False):
        self.add_bias = add_bias
        self.learning_rate = learning_rate
        self.epsilon = epsilon                        #to get the tolerance for the norm of gradients 
        self.max_iters = max_iters                    #maximum number of iteration of gradient descent
        self.verbose = verbose
        self.gradient = self.gradient # added to avoid error when parallel processing
        
    def fit(self, x, y, batch_size=-1):
        if batch_size  == -1:
            batch_size = len(x)
        start_time = time.process_time()
        if x.ndim == 1:
            x = x[:, None] # 1d to 2d
        if self.add_bias:
            N = x.shape[0]
            x = np.column_stack([x,np.ones(N)]) # adding a new column with N rows
        N,D = x.shape
        self.w = np.zeros(D)
        g = np.inf 
        t = 0
        # the code snippet below is for gradient descent
        # step when exceeding max iters or gradient becomes too small
        while np.linalg.norm(g) > self.epsilon and t < self.max_iters:
            rand_index = np.random.choice(len(x), batch_size, replace=False)
            batch_x = x[rand_index]
            batch_y = y[rand_index]
            g = self.gradient(batch_x, batch_y)
            self.w = self.w - self.learning_rate * g 
            t += 1
        
        elapsed_time = time.process_time() - start_time

        if self.verbose:
            print(f'terminated after {t} iterations, with norm of the gradient equal to {np.linalg.norm(g)}')
            print(f'the weight found: {self.w}')
            print(f'time elapsed: {elapsed_time: .2f} seconds')
            print()
        return self

    def gradient(self, x, y):
        N,D = x.shape
        yh = logistic(np.dot(x, self.w))    # predictions  size N
        grad = np.dot(x.T, yh - y)/N        # divide by N because cost is mean over N points
        return grad                         # size D

    def predict(self, x):
        if x.ndim == 1:
            x = x[:, None]
        Nt = x.shape[0]
        if self.add_bias:
            x = np.column_stack([x,np.ones(Nt)])
        yh = logistic(np.dot(x,self.w))            #predict output
        return yh


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----

def logistic_loss(w, b, X, y, reg=0.0):
    """Their bias column: x = [X, 1], weights [w, b]; their cost_fn and gradient; reg unused."""
    x = np.column_stack([X, np.ones(X.shape[0])])
    model = LogisticRegression()
    model.w = np.append(w, b)
    grad = model.gradient(x, y)
    return cost_fn(x, y, model.w), grad[:-1], grad[-1]


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    """LogisticRegression(learning_rate, max_iters=num_iters).fit(X, y); no losses kept."""
    model = LogisticRegression(learning_rate=learning_rate, max_iters=num_iters).fit(X, y)
    return model.w[:-1], model.w[-1], None
