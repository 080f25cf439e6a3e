"""Vectorised reference implementations that performance checks time next to the student's code.

The performance check compares the student's function with a reference *timed in the same
process*, so both see the same machine state (see :mod:`grader.runner.timing`). The references
live here, under ``grader.runner``, because the student process imports this module at start-up,
before the student's module is loaded (after that, imports of ``grader.*`` are refused), and
because the solutions never ship: the reference is the grader's own formula or torch's kernel.

A reference is a *factory*: ``REFERENCES[name](*args, **kwargs)`` receives the same kind of
arguments the student's function gets (numpy float64 arrays, or torch tensors on the device) and
returns a zero-argument callable that does the work once. Setup (building an autograd graph,
transposing weights) happens in the factory, outside the timed region.

numpy references are the forward formulas of the contract only (no backward formula is shipped):
where the student's function also computes a gradient (``softmax_loss``, ``two_layer_loss``), the
reference does the forward work and the calibrated threshold absorbs the constant factor.
torch references are torch's own kernels (``conv2d``, ``lstm_cell``, ``scaled_dot_product_attention``)
and, for backward passes, autograd through them (``torch.autograd.grad(..., retain_graph=True)``
on a graph built once). They run *outside* the forbidden-operator guard, which only wraps student
code. torch is imported lazily so the numpy exercises stay torch-free.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

Thunk = Callable[[], Any]


# -- numpy (forward formulas of the contract) ---------------------------------------------------
def _stable_sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid(z) -> Thunk:
    """sigma(z) = 1/(1+e^-z), stable form (exp of -|z| only). z: float64 array, any shape."""
    return lambda: _stable_sigmoid(z)


def sigmoid_grad(z) -> Thunk:
    """sigma'(z) = s(1-s) with s = sigma(z) (contract, ex01)."""
    def run():
        s = _stable_sigmoid(z)
        return s * (1.0 - s)
    return run


def affine_forward(x, w, b) -> Thunk:
    """out = x.reshape(N, -1) @ w + b; x (N, d1..dk), w (D, M), b (M,)."""
    return lambda: x.reshape(x.shape[0], -1) @ w + b


def relu_forward(x) -> Thunk:
    """out = max(0, x), elementwise."""
    return lambda: np.maximum(0.0, x)


def _softmax_forward(scores, y):
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(n), y].mean(), np.exp(log_probs)


def softmax_loss(scores, y) -> Thunk:
    """Forward work of the mean cross-entropy: stable log-softmax, the loss and the probabilities
    (scores (N, C) float64, y (N,) int)."""
    return lambda: _softmax_forward(scores, y)


def two_layer_loss(X, y, params, reg=0.0) -> Thunk:
    """Forward work of affine-ReLU-affine-softmax with L2 penalty (the loss only)."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]

    def run():
        h = np.maximum(0.0, X.reshape(X.shape[0], -1) @ W1 + b1)
        loss, _ = _softmax_forward(h @ W2 + b2, y)
        return loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return run


def adagrad_update(w, dw, config=None) -> Thunk:
    """cache += dw**2; next_w = w - lr * dw / (sqrt(cache) + eps) (contract, ex03)."""
    config = dict(config or {})
    lr = config.get("learning_rate", 1e-2)
    eps = config.get("epsilon", 1e-10)
    cache0 = config.get("cache", np.zeros_like(w))

    def run():
        cache = cache0 + dw * dw
        return w - lr * dw / (np.sqrt(cache) + eps), cache
    return run


def dropout_forward(x, p, train, rng) -> Thunk:
    """Inverted dropout in training: keep with probability 1-p, scale survivors by 1/(1-p)."""
    def run():
        mask = rng.random(x.shape) >= p
        return x * mask / (1.0 - p), mask
    return run


def xavier_uniform(fan_in, fan_out, rng, gain=1.0) -> Thunk:
    """U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)), shape (fan_in, fan_out)."""
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return lambda: rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng, gain=1.0) -> Thunk:
    """N(0, sigma^2), sigma = gain * sqrt(2 / (fan_in + fan_out)), shape (fan_in, fan_out)."""
    sigma = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return lambda: rng.normal(0.0, sigma, size=(fan_in, fan_out))


# -- torch (torch's own kernels; autograd for backward passes) ------------------------------------
def _leaves(*tensors):
    return tuple(t.detach().clone().requires_grad_(True) for t in tensors)


def _vjp_loss(outputs, upstream):
    """sum(out * dout) over the outputs: its gradient w.r.t. the inputs is the vector-Jacobian
    product with ``upstream``. (``torch.autograd.grad(out, inputs, dout)`` would compute the same,
    but its first call with a tensor ``grad_outputs`` imports sympy, about 0.9 s, and a student
    process cannot import after it dropped privileges.)"""
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    upstream = upstream if isinstance(upstream, tuple) else (upstream,)
    return sum((o * u).sum() for o, u in zip(outputs, upstream))


def conv_forward(x, w, b, stride=1, pad=0) -> Thunk:
    """torch.nn.functional.conv2d(x, w, b, stride, pad): x (N, C, H, W), w (F, C, HH, WW)."""
    import torch.nn.functional as F
    return lambda: F.conv2d(x, w, b, stride=stride, padding=pad)


def conv_backward(x, w, b, dout, stride=1, pad=0) -> Thunk:
    """Gradients of conv2d w.r.t. (x, w, b) for upstream ``dout`` (torch's convolution_backward),
    through autograd on a graph built once."""
    import torch
    import torch.nn.functional as F
    leaves = _leaves(x, w, b)
    with torch.enable_grad():
        loss = _vjp_loss(F.conv2d(*leaves, stride=stride, padding=pad), dout)
    return lambda: torch.autograd.grad(loss, leaves, retain_graph=True)


def _lstm_cell(x, h, c, w_ih, w_hh, b):
    import torch
    return torch.lstm_cell(x, (h, c), w_ih, w_hh, b, None)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> Thunk:
    """torch.lstm_cell (torch.nn.LSTMCell's kernel) with the weights transposed once; its gate
    order differs from the exercise's, which does not change the work."""
    w_ih, w_hh = Wx.T.contiguous(), Wh.T.contiguous()
    return lambda: _lstm_cell(x, prev_h, prev_c, w_ih, w_hh, b)


def lstm_step_backward(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c) -> Thunk:
    """Gradients of torch.lstm_cell w.r.t. (x, prev_h, prev_c, Wx, Wh, b) through autograd."""
    import torch
    leaves = _leaves(x, prev_h, prev_c, Wx, Wh, b)
    with torch.enable_grad():
        lx, lh, lc, lwx, lwh, lb = leaves
        loss = _vjp_loss(_lstm_cell(lx, lh, lc, lwx.T, lwh.T, lb), (dnext_h, dnext_c))
    return lambda: torch.autograd.grad(loss, leaves, retain_graph=True)


def _attention(x, Wq, Wk, Wv, causal):
    import torch.nn.functional as F
    return F.scaled_dot_product_attention(x @ Wq, x @ Wk, x @ Wv, is_causal=bool(causal))


def attention_forward(x, Wq, Wk, Wv, causal=False) -> Thunk:
    """Projections plus torch.nn.functional.scaled_dot_product_attention (x (N, T, D))."""
    return lambda: _attention(x, Wq, Wk, Wv, causal)


def attention_backward(x, Wq, Wk, Wv, dout, causal=False) -> Thunk:
    """Gradients of the projections + scaled_dot_product_attention w.r.t. (x, Wq, Wk, Wv)."""
    import torch
    leaves = _leaves(x, Wq, Wk, Wv)
    with torch.enable_grad():
        loss = _vjp_loss(_attention(*leaves, causal), dout)
    return lambda: torch.autograd.grad(loss, leaves, retain_graph=True)


# -- forward + backward pairs (CUDA timing: a fresh graph per call, as a training step does) ----
def conv_pair(x, w, b, dout, stride=1, pad=0) -> Thunk:
    """conv2d forward and its backward (cuDNN on CUDA), a fresh graph per call."""
    import torch
    import torch.nn.functional as F
    leaves = _leaves(x, w, b)

    def run():
        with torch.enable_grad():
            loss = _vjp_loss(F.conv2d(*leaves, stride=stride, padding=pad), dout)
        return torch.autograd.grad(loss, leaves)
    return run


def lstm_pair(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c) -> Thunk:
    """torch.lstm_cell forward and backward, a fresh graph per call."""
    import torch
    leaves = _leaves(x, prev_h, prev_c, Wx, Wh, b)
    lx, lh, lc, lwx, lwh, lb = leaves

    def run():
        with torch.enable_grad():
            loss = _vjp_loss(_lstm_cell(lx, lh, lc, lwx.T, lwh.T, lb), (dnext_h, dnext_c))
        return torch.autograd.grad(loss, leaves)
    return run


def attention_pair(x, Wq, Wk, Wv, dout, causal=False) -> Thunk:
    """Projections + scaled_dot_product_attention forward and backward, a fresh graph per call."""
    import torch
    leaves = _leaves(x, Wq, Wk, Wv)

    def run():
        with torch.enable_grad():
            loss = _vjp_loss(_attention(*leaves, causal), dout)
        return torch.autograd.grad(loss, leaves)
    return run


# -- ex11 max pooling and ex13 recurrent network (torch's own kernels and autograd) -------------
def maxpool_forward(x, pool_height=2, pool_width=2, stride=2) -> Thunk:
    """torch.nn.functional.max_pool2d(x, (pool_height, pool_width), stride), no padding."""
    import torch.nn.functional as F
    return lambda: F.max_pool2d(x, (pool_height, pool_width), stride=stride)


def maxpool_backward(x, dout, pool_height=2, pool_width=2, stride=2) -> Thunk:
    """The gradient of max_pool2d w.r.t. x for upstream ``dout`` (max_pool2d_with_indices_backward),
    through autograd on a graph built once."""
    import torch
    import torch.nn.functional as F
    leaves = _leaves(x)
    with torch.enable_grad():
        loss = _vjp_loss(F.max_pool2d(leaves[0], (pool_height, pool_width), stride=stride), dout)
    return lambda: torch.autograd.grad(loss, leaves, retain_graph=True)


def maxpool_pair(x, dout, pool_height=2, pool_width=2, stride=2) -> Thunk:
    """max_pool2d forward and backward, a fresh graph per call."""
    import torch
    import torch.nn.functional as F
    leaves = _leaves(x)

    def run():
        with torch.enable_grad():
            loss = _vjp_loss(F.max_pool2d(leaves[0], (pool_height, pool_width), stride=stride), dout)
        return torch.autograd.grad(loss, leaves)
    return run


def _rnn_module(Wx, Wh, b):
    """A torch.nn.RNN (tanh, batch_first) holding the exercise's weights: weight_ih = Wx.T,
    weight_hh = Wh.T, bias_ih = b, bias_hh = 0 (h_t = tanh(x_t Wx + h_{t-1} Wh + b))."""
    import torch
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, device=Wx.device,
                       dtype=Wx.dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(Wx.T)
        rnn.weight_hh_l0.copy_(Wh.T)
        rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
    return rnn


def rnn_forward(x, h0, Wx, Wh, b) -> Thunk:
    """torch.nn.RNN (tanh) over x (N, T, D) from h0 (N, H), without an autograd graph."""
    import torch
    rnn = _rnn_module(Wx, Wh, b)

    def run():
        with torch.no_grad():
            return rnn(x, h0.unsqueeze(0))
    return run


def rnn_backward(x, h0, Wx, Wh, b, dh) -> Thunk:
    """Gradients of torch.nn.RNN's hidden states (upstream ``dh`` (N, T, H)) w.r.t. x, h0 and the
    module's weights, through autograd on a graph built once (backpropagation through time)."""
    import torch
    rnn = _rnn_module(Wx, Wh, b)
    leaves = _leaves(x, h0) + tuple(rnn.parameters())
    with torch.enable_grad():
        loss = _vjp_loss(rnn(leaves[0], leaves[1].unsqueeze(0))[0], dh)
    return lambda: torch.autograd.grad(loss, leaves, retain_graph=True)


def rnn_pair(x, h0, Wx, Wh, b, dh) -> Thunk:
    """torch.nn.RNN (tanh; cuDNN on CUDA) forward and backward, a fresh graph per call."""
    import torch
    rnn = _rnn_module(Wx, Wh, b)
    leaves = _leaves(x, h0) + tuple(rnn.parameters())

    def run():
        with torch.enable_grad():
            loss = _vjp_loss(rnn(leaves[0], leaves[1].unsqueeze(0))[0], dh)
        return torch.autograd.grad(loss, leaves)
    return run


def clip_grad_norm(grads, max_norm) -> Thunk:
    """torch.nn.utils.clip_grad_norm_ on fresh copies of ``grads`` (a list of tensors), so each
    call clips new tensors as the exercise's function returns them; (clipped, total_norm)."""
    import torch
    holders = [torch.zeros_like(g) for g in grads]

    def run():
        for holder, g in zip(holders, grads):
            holder.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(holders, max_norm)
        return [h.grad for h in holders], total
    return run


#: name -> factory. The names are what a timing request's ``ref`` field may hold.
REFERENCES: dict[str, Callable[..., Thunk]] = {
    "sigmoid": sigmoid, "sigmoid_grad": sigmoid_grad,
    "affine_forward": affine_forward, "relu_forward": relu_forward,
    "softmax_loss": softmax_loss, "two_layer_loss": two_layer_loss,
    "adagrad_update": adagrad_update, "dropout_forward": dropout_forward,
    "xavier_uniform": xavier_uniform, "xavier_normal": xavier_normal,
    "conv_forward": conv_forward, "conv_backward": conv_backward,
    "lstm_step_forward": lstm_step_forward, "lstm_step_backward": lstm_step_backward,
    "attention_forward": attention_forward, "attention_backward": attention_backward,
    "conv_pair": conv_pair, "lstm_pair": lstm_pair, "attention_pair": attention_pair,
    "maxpool_forward": maxpool_forward, "maxpool_backward": maxpool_backward,
    "maxpool_pair": maxpool_pair, "rnn_forward": rnn_forward, "rnn_backward": rnn_backward,
    "rnn_pair": rnn_pair, "clip_grad_norm": clip_grad_norm,
}


# -- ex10 batch normalisation (the contract's training forward, numpy) -------------------------
def batchnorm_forward(x, gamma, beta, bn_param) -> Thunk:
    """Training-mode batchnorm: biased batch statistics, running averages (contract, ex10)."""
    eps, mom = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    rm = bn_param.get("running_mean", np.zeros(x.shape[1]))
    rv = bn_param.get("running_var", np.zeros(x.shape[1]))

    def run():
        mu, var = x.mean(axis=0), x.var(axis=0)
        out = gamma * (x - mu) / np.sqrt(var + eps) + beta
        return out, mom * rm + (1 - mom) * mu, mom * rv + (1 - mom) * var
    return run


REFERENCES["batchnorm_forward"] = batchnorm_forward


# -- ex12 logistic_loss -----------------------------------------------------------------------
def logistic_loss(w, b, X, y, reg=0.0) -> Thunk:
    """The stable logistic loss and its gradients, library calls only (np.logaddexp, matmuls)."""
    def run():
        z = X @ w + b
        p = np.exp(-np.logaddexp(0.0, -z))
        err = p - y
        loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * np.dot(w, w)
        return loss, X.T @ err / X.shape[0] + reg * w, np.mean(err)
    return run


REFERENCES["logistic_loss"] = logistic_loss


# -- ex09 (momentum, RMSProp, Adam): the contract's formulas, state from the config given ------
def sgd_momentum_update(w, dw, config=None) -> Thunk:
    """v = mu*v - lr*dw; next_w = w + v (contract, ex09)."""
    cfg = dict(config or {})
    lr, mu, v0 = cfg.get("learning_rate", 1e-2), cfg.get("momentum", 0.9), cfg.get("velocity", 0.0)

    def run():
        v = mu * v0 - lr * dw
        return w + v, v
    return run


def rmsprop_update(w, dw, config=None) -> Thunk:
    """cache = rho*cache + (1-rho)*dw**2; next_w = w - lr*dw/(sqrt(cache) + eps) (contract, ex09)."""
    cfg = dict(config or {})
    lr, rho = cfg.get("learning_rate", 1e-2), cfg.get("decay_rate", 0.99)
    eps, c0 = cfg.get("epsilon", 1e-8), cfg.get("cache", 0.0)

    def run():
        c = rho * c0 + (1 - rho) * dw * dw
        return w - lr * dw / (np.sqrt(c) + eps), c
    return run


def adam_update(w, dw, config=None) -> Thunk:
    """Adam with bias correction (Kingma & Ba 2015, Algorithm 1; contract, ex09)."""
    cfg = dict(config or {})
    lr, b1, b2 = cfg.get("learning_rate", 1e-3), cfg.get("beta1", 0.9), cfg.get("beta2", 0.999)
    eps, m0, v0, t = cfg.get("epsilon", 1e-8), cfg.get("m", 0.0), cfg.get("v", 0.0), cfg.get("t", 0) + 1

    def run():
        m = b1 * m0 + (1 - b1) * dw
        v = b2 * v0 + (1 - b2) * dw * dw
        return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), m, v
    return run


REFERENCES.update({"sgd_momentum_update": sgd_momentum_update, "rmsprop_update": rmsprop_update,
                   "adam_update": adam_update})
