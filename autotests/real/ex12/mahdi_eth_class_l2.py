# source: https://github.com/mahdi-eth/Lofistic_regression_from_scratch/blob/378d46395ebfc75917162a1641ea11dca6598407/logistic_regression.py
# verdict: logistic_loss absent: the class has no loss function (fit computes the gradient inline and an MSE only to stop early)
# verdict: train_logistic wrong: keeps no loss history; the gradient's penalty is lambda/n*w (divided by N, and no matching loss); stops early once the MSE of the predictions changes by less than 1e-5; 1/(1+np.exp(-z)) overflows for z < -709
# expect: train_trajectory fail losses
"""A from-scratch LogisticRegression class (notebook export, 2023) with L2 regularisation:
fit runs batch gradient descent from zeros, adding (lambda_/n_samples)·weights to dw, and
breaks out of the loop when the mean squared error of the predictions (not the cross-entropy)
changes by less than tol = 1e-5. It records no losses. There is no loss function to grade.

Wrapper (no arithmetic): train_logistic builds LogisticRegression(lr=learning_rate,
n_iters=num_iters, lambda_=reg), calls fit(X, y) and returns (weights, bias, None): fit keeps
no losses, so there are none to return. logistic_loss is absent (raises NotImplementedError).
"""
import numpy as np


# ---- copied verbatim from mahdi-eth/Lofistic_regression_from_scratch logistic_regression.py (commit 378d46395e) ----

def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# In[ ]:


class LogisticRegression:
    def __init__(self, lr=0.001, n_iters=1000, lambda_=1):
        self.lr = lr
        self.n_iters = n_iters
        self.weights = None
        self.bias = None
        self.lambda_ = lambda_
    
    def fit(self, X, y):
        n_samples, n_features = X.shape
        self.weights = np.zeros(n_features)
        self.bias = 0
        
        tol = 1e-5
        prev_loss = 0
        for i in range(self.n_iters):
            y_pred = sigmoid(np.dot(X, self.weights) + self.bias)
            dw = (1/n_samples) * (np.dot(X.T, (y_pred - y))) + ((self.lambda_ / n_samples)*(self.weights))
            db = (1/n_samples) * (np.sum(y_pred - y))
            self.weights = self.weights - (self.lr * dw)
            self.bias = self.bias - (self.lr * db)
            
            current_loss = np.mean(np.square(y_pred - y))
            
            if abs(current_loss - prev_loss) < tol:
                break
                
            prev_loss = current_loss
        
    def predict(self, X):
        return sigmoid(np.dot(X, self.weights) + self.bias)


# ---- wrapper: the contract's names, arguments and return values (no arithmetic) ----

def logistic_loss(w, b, X, y, reg=0.0):
    """Absent: the repository has no loss function."""
    raise NotImplementedError("this repository's class has no loss function")


def train_logistic(X, y, learning_rate=0.1, num_iters=100, reg=0.0):
    """LogisticRegression(lr, n_iters, lambda_).fit(X, y); fit keeps no losses."""
    model = LogisticRegression(lr=learning_rate, n_iters=num_iters, lambda_=reg)
    model.fit(X, y)
    return model.weights, model.bias, None
