"""Oracles of ex10 and the usual mistakes, computed in the grader's process.

* :func:`oracle_forward`: the contract's forward in numpy (Ioffe & Szegedy 2015, Algorithm 1;
  biased batch variance; running averages ``momentum * running + (1 - momentum) * batch``).
* :func:`complex_step_gradients`: dx, dgamma, dbeta, every entry, by the complex-step derivative
  of the same forward (Squire & Trapp, SIAM Review 1998; Martins, Sturdza & Alonso, ACM TOMS
  2003): ``d sum(dout * out) / d x_i = Im(f(x + i h e_i)) / h`` has no subtractive cancellation,
  so it is exact to rounding (about 1e-15 relative) for any h as small as 1e-20, and it needs
  neither torch nor a backward formula.
* :func:`torch_gradients`: dx, dgamma, dbeta by torch autograd of the same forward written with
  torch operators in float64 (no backward formula ships with the grader). torch costs the grader
  about 1.2 s of CPU to import, so the checks compute it only for a gradient that differs from the
  complex-step one, to confirm the failure and report it against autograd.
* :func:`numerical_gradients`: central differences of :func:`oracle_forward` at probe
  coordinates (:mod:`grader.checks.gradients`), the second, independent reference.
* :func:`forward_mistakes` / :func:`backward_mistakes`: what the usual wrong formulas return,
  only to name a mistake once a value has failed.
"""
from __future__ import annotations

import numpy as np

from grader.checks.gradients import numerical_gradient, probe_coords

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.9


def oracle_forward(x, gamma, beta, mode="train", eps=DEFAULT_EPS, momentum=DEFAULT_MOMENTUM,
                   running_mean=None, running_var=None, *, ddof=0, eps_outside=False,
                   swapped=False, axis=0):
    """The contract's batchnorm forward (and, with a flag, one of the usual mistakes).

    Args:
        x: float64 (N, D). gamma, beta: float64 (D,). mode: "train" or "test".
        eps, momentum: floats. running_mean, running_var: float64 (D,) or None (zeros).
        ddof, eps_outside, swapped, axis: mistakes (ddof=1 variance, eps after the square root,
            momentum convention swapped, statistics over axis 1), for diagnosis only.

    Returns:
        (out (N, D), running_mean (D,), running_var (D,)), float64; in test mode the running
        statistics come back as given.
    """
    d = x.shape[1]
    rm = np.zeros(d) if running_mean is None else np.asarray(running_mean, dtype=np.float64)
    rv = np.zeros(d) if running_var is None else np.asarray(running_var, dtype=np.float64)
    with np.errstate(all="ignore"):
        if mode == "test":
            mu, var = rm, rv
        else:
            mu = x.mean(axis=axis, keepdims=True)
            var = x.var(axis=axis, ddof=ddof, keepdims=True)
        den = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
        out = gamma * (x - mu) / den + beta
        if mode == "test":
            return out, rm, rv
        keep = 1.0 - momentum if swapped else momentum
        mu, var = mu.ravel(), var.ravel()
        if axis != 0:       # the running statistics of that mistake have shape (N,)
            return out, None, None
        return out, keep * rm + (1.0 - keep) * mu, keep * rv + (1.0 - keep) * var


def forward_mistakes(x, gamma, beta, eps, momentum, rm, rv):
    """(name, (out, running_mean, running_var), hint) of the usual training-mode mistakes."""
    def run(**kw):
        return oracle_forward(x, gamma, beta, "train", eps, momentum, rm, rv, **kw)
    return [
        ("unbiased variance", run(ddof=1),
         "you used the unbiased variance (ddof=1, divide by N - 1): batch normalisation divides "
         "by N, as x.var(axis=0) does by default"),
        ("eps outside sqrt", run(eps_outside=True),
         "eps is outside the square root: divide by np.sqrt(var + eps), not np.sqrt(var) + eps"),
        ("momentum swapped", run(swapped=True),
         "the momentum convention is swapped: running = momentum * running + (1 - momentum) * "
         "batch (momentum weighs the old running value)"),
        ("axis 1", (run(axis=1)[0], None, None),
         "the statistics are taken over axis=1 (each sample's features); batch normalisation "
         "averages each feature over the batch: axis=0"),
        ("gamma beta swapped", (oracle_forward(x, beta, gamma, "train", eps, momentum, rm, rv)[0],
                                None, None),
         "gamma and beta are swapped: out = gamma * x_hat + beta"),
    ]


def _x_hat(x, eps):
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)


def backward_mistakes(x, gamma, beta, dout, eps):
    """(name, which gradient, value, hint) of the usual backward mistakes (training mode)."""
    n = x.shape[0]
    inv = 1.0 / np.sqrt(x.var(axis=0) + eps)
    xh = _x_hat(x, eps)
    out = gamma * xh + beta
    g = gamma * inv
    mean_d, mean_dx = dout.mean(axis=0), (dout * xh).mean(axis=0)
    return [
        ("simple dx", "dx", g * dout,
         "dx = dout * gamma / std treats the mean and the variance as constants; they depend on "
         "x too: dx = gamma / std * (dout - mean(dout) - x_hat * mean(dout * x_hat)) (means "
         "over the batch)"),
        ("no variance term", "dx", g * (dout - mean_d),
         "dx lacks the variance's contribution: subtract x_hat * mean(dout * x_hat, axis=0) too"),
        ("no mean term", "dx", g * (dout - xh * mean_dx),
         "dx lacks the mean's contribution: subtract mean(dout, axis=0) too"),
        ("no gamma in dx", "dx", inv * (dout - mean_d - xh * mean_dx),
         "dx misses the factor gamma: the forward multiplies x_hat by gamma"),
        ("dx sums not means", "dx", g * (dout - n * mean_d - xh * n * mean_dx),
         "the correction terms are sums over the batch where they must be means (divide by N)"),
        ("dgamma not summed", "dgamma", dout * xh,
         "dgamma is per sample: sum dout * x_hat over the batch (axis=0)"),
        ("dgamma from out", "dgamma", (dout * out).sum(axis=0),
         "dgamma uses the layer's output gamma * x_hat (or out): it is sum(dout * x_hat, "
         "axis=0), with the normalised input x_hat"),
        ("dgamma from x", "dgamma", (dout * x).sum(axis=0),
         "dgamma uses the raw x: it is sum(dout * x_hat, axis=0), with the normalised x_hat"),
        ("dgamma axis 1", "dgamma", (dout * xh).sum(axis=1),
         "dgamma is summed over axis=1; sum over the batch, axis=0, to get shape (D,)"),
        ("dbeta not summed", "dbeta", dout,
         "dbeta is per sample: dbeta = dout.sum(axis=0)"),
        ("dbeta axis 1", "dbeta", dout.sum(axis=1),
         "dbeta is summed over axis=1; sum over the batch, axis=0, to get shape (D,)"),
    ]


#: Step of the complex-step derivative (any h far below the inputs' scale gives the same result).
COMPLEX_STEP = 1e-20


def _complex_forward(x, gamma, beta, eps):
    """The contract's training forward on complex arrays with a leading axis of perturbations:
    x (P, N, D), gamma and beta (P, D); written with analytic operations only (np.var would take
    |x - mu|**2, which is not complex-differentiable)."""
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=1, keepdims=True)
    return gamma[:, None, :] * xc / np.sqrt(var + eps) + beta[:, None, :]


def complex_step_gradients(x, gamma, beta, dout, eps=DEFAULT_EPS, h=COMPLEX_STEP):
    """dx, dgamma, dbeta of ``sum(dout * out)``, every entry, by the complex-step derivative of
    the contract's training forward (no torch, no backward formula).

    Args:
        x: float64 (N, D); gamma, beta: float64 (D,); dout: float64 (N, D); eps: float;
            h: the imaginary step.

    Returns:
        (dx (N, D), dgamma (D,), dbeta (D,)) float64, equal to torch autograd's to about 1e-15
        relative (autotests/test_ex10_batchnorm.py), also for a feature of zero variance.
    """
    n, d = x.shape
    out = []
    for size in (n * d, d, d):
        out.append(np.eye(size) * (1j * h))
    ex, eg, eb = out
    cases = (
        (x[None] + ex.reshape(n * d, n, d), np.broadcast_to(gamma, (n * d, d)),
         np.broadcast_to(beta, (n * d, d)), (n, d)),
        (np.broadcast_to(x, (d, n, d)), gamma[None] + eg, np.broadcast_to(beta, (d, d)), (d,)),
        (np.broadcast_to(x, (d, n, d)), np.broadcast_to(gamma, (d, d)), beta[None] + eb, (d,)),
    )
    grads = []
    with np.errstate(all="ignore"):
        for cx, cg, cb, shape in cases:
            f = (_complex_forward(cx, cg, cb, eps) * dout).sum(axis=(1, 2))
            grads.append((f.imag / h).reshape(shape))
    return tuple(grads)


def torch_gradients(x, gamma, beta, dout, eps=DEFAULT_EPS):
    """dx, dgamma, dbeta: torch autograd (float64, CPU) of the contract's training forward.

    Args:
        x: float64 (N, D); gamma, beta: float64 (D,); dout: float64 (N, D); eps: float.

    Returns:
        (dx (N, D), dgamma (D,), dbeta (D,)) numpy float64 arrays: the vector-Jacobian product
        ``dout^T d out / d(x, gamma, beta)``.
    """
    import torch
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, gamma, beta)]
    tx, tg, tb = leaves
    mu = tx.mean(dim=0)
    var = ((tx - mu) ** 2).mean(dim=0)
    out = tg * (tx - mu) / torch.sqrt(var + eps) + tb
    grads = torch.autograd.grad(out, leaves, torch.tensor(dout, dtype=torch.float64))
    return tuple(g.numpy() for g in grads)


def numerical_gradients(x, gamma, beta, dout, eps, rng, max_coords=12):
    """Central differences of :func:`oracle_forward` (train) for x, gamma and beta.

    Returns:
        dict name -> (coords, partial derivatives at coords).
    """
    inputs = {"x": x, "gamma": gamma, "beta": beta}

    def evaluate_many(points):
        return [oracle_forward(p["x"], p["gamma"], p["beta"], "train", eps)[0] for p in points]
    out = {}
    for name in inputs:
        coords = probe_coords(inputs[name].shape, rng, max_coords)
        num, _ = numerical_gradient(evaluate_many, inputs, name, dout, coords)
        out[name] = (coords, num)
    return out
