"""ex11 max pooling: forward and backward of a max-pooling layer (no padding), in torch.

Oracles: ``torch.nn.functional.max_pool2d`` and its autograd, computed here in the grader process
in float64 on the CPU (never in the student's process). The ``cache`` from ``maxpool_forward``
stays in the student process as an opaque handle and is passed back to ``maxpool_backward``.

Inputs have distinct values (see :mod:`.configs`), so every window has one maximum: ties are not
judged. Ten main configurations tile the input exactly: five without overlap (stride >= pool,
``backward_dx``) and five with (stride < pool, ``backward_overlap``, where an element that is the
maximum of several windows must receive the sum of their gradients); non-square inputs and
pools, N = 1, C = 1 and stride > pool among them. ``edge_configs`` adds output sizes that need the
floor (chosen so that ceil, round() and round-half-up each give another size somewhere), a pool
as large as the input and a 1x1 pool. A failing check names the configuration, the mistake when a
recogniser in :mod:`.diagnose` reproduces the student's numbers (average instead of max, stride
ignored, gradients assigned instead of added, gradient sent to the whole window, argmax unravelled
with the wrong width, a maximum started from 0, ...), or the output-size formula behind a wrong
shape (ceil, round, + 1 missing, H and W swapped, stride ignored), and the feature the wrong
configurations share.

Output size (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning",
section 3): ``H_out = 1 + (H - pool_height) // stride``, likewise for W.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex11_pool.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex11_pool.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex11", slug="pool", title="Max pooling: forward and backward", backend="torch",
    oracle_modules=("torch",),
    functions=(Function(FORWARD, ("x", "pool_height", "pool_width", "stride"), 2),
               Function(BACKWARD, ("dout", "cache"), 1)),
    forbidden_calls=(
        "torch.nn.functional",
        "torch.max_pool1d", "torch.max_pool2d", "torch.max_pool3d",
        "torch.max_pool1d_with_indices", "torch.max_pool2d_with_indices",
        "torch.max_pool3d_with_indices", "torch.mkldnn_max_pool2d", "torch.mkldnn_max_pool3d",
        "torch.quantized_max_pool1d", "torch.quantized_max_pool2d", "torch.quantized_max_pool3d",
        "torch.adaptive_max_pool1d", "torch.max_unpool2d",
        "torch.nn.MaxPool1d", "torch.nn.MaxPool2d", "torch.nn.MaxPool3d",
        "torch.nn.AdaptiveMaxPool1d", "torch.nn.AdaptiveMaxPool2d", "torch.nn.AdaptiveMaxPool3d",
        "torch.nn.FractionalMaxPool2d", "torch.nn.FractionalMaxPool3d", "torch.nn.MaxUnpool2d",
        "torch.nn.LPPool2d", "torch.nn.modules.pooling", "torch.nn.grad", "torch._C._nn",
    ),
    # Every aten max-pooling operator (forward, backward, every backend). aten::max, amax,
    # argmax, unfold, scatter_add and gather stay allowed: they are what the exercise is made of.
    forbidden_ops=(
        "aten::max_pool", "aten::adaptive_max_pool", "aten::fractional_max_pool",
        "aten::max_unpool", "aten::mkldnn_max_pool", "aten::quantized_max_pool",
        "aten::_mps_max_pool", "aten::mps_max_pool", "aten::cudnn_max_pool",
        "aten::_adaptive_max_pool",
    ),
    config={"allowed_calls": ("torch.nn.functional.pad",)},
    checks=(
        signature_check(probe, 1),
        Check("forward_values", "value", 3, check_forward, (FORWARD,),
              "out matches torch.nn.functional.max_pool2d on 10 configurations (overlapping and "
              "disjoint windows, non-square pools and inputs, N = 1, C = 1) and with the defaults"),
        Check("backward_dx", "gradient", 3, check_backward_dx, (FORWARD, BACKWARD),
              "dx matches torch autograd where windows do not overlap (stride >= pool)"),
        Check("backward_overlap", "gradient", 2, check_backward_overlap, (FORWARD, BACKWARD),
              "dx matches autograd where windows overlap: gradients of several windows add up"),
        Check("edge_configs", "value", 3, check_edge_configs, (FORWARD, BACKWARD),
              "output sizes that need the floor, N = C = 1, pool = input, a 1x1 pool"),
        Check("numerical_gradient", "gradient", 2, numerical_check, (FORWARD, BACKWARD),
              "dx agrees with central differences of your own maxpool_forward"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, (FORWARD, BACKWARD),
              "x and dout are not changed in place; backward leaves the cache intact"),
        *performance_checks(PLAN),
        forbidden_check(2),
    ),
    teaching=r"""
A max-pooling layer slides a window of `pool_height` x `pool_width` over every channel of every
image, `stride` steps at a time, and keeps the largest value of each window (no padding):
$$\text{out}[n, c, i, j] = \max_{0 \le p < ph,\; 0 \le q < pw} x[n, c,\, i s + p,\, j s + q]$$
with $H_\text{out} = 1 + \lfloor (H - ph) / s \rfloor$ and likewise for $W_\text{out}$, as in
`torch.nn.functional.max_pool2d`. In the backward pass each upstream gradient goes to the position
of its window's maximum and nowhere else; when `stride` is smaller than the pool, windows overlap
and an element that is the maximum of several windows receives the **sum** of their gradients.
`maxpool_forward(x, pool_height=2, pool_width=2, stride=2)` returns `(out, cache)`;
`maxpool_backward(dout, cache)` returns `dx` shaped like `x`. Use plain tensor operations
(`Tensor.unfold`, `max(dim=...)`, `scatter_add_`, loops over the window offsets);
`torch.nn.functional` (except `pad`), built-in pooling and autograd are not allowed.
""",
)
