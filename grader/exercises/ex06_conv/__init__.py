"""ex06 convolution: a 2-D convolutional layer (cross-correlation), forward and backward, in torch.

Oracles: ``torch.nn.functional.conv2d`` and its autograd, computed here in the grader process in
float64 on the CPU (never in the student's process). The student's tensors come back as
:class:`~grader.runner.codec.Tensor` and are compared at the float64 tolerances of
:mod:`grader.checks.compare`. The ``cache`` from ``conv_forward`` stays in the student process as an
opaque handle (``ctx.map(..., keep=(1,))``) and is passed back to ``conv_backward`` unchanged.

Configurations: the main checks run on nine seeded configurations whose windows tile the padded
input exactly (stride 1, 2 and 3; pad 0, 1 and 2; square and non-square inputs and kernels; N, C,
F from 1 to 5); the ``edge_configs`` check adds output sizes that need flooring
(``H + 2*pad - HH`` not a multiple of ``stride``), 1x1 kernels, a kernel as large as the padded
input and pad = 2 around a 3x3 input. Every failing check says on which configuration it
failed and, when the failures share a feature (only stride > 1, only pad = 0, only non-square
kernels...), names it: that is how "stride ignored in backward" or "``pad:-pad`` slicing" show up.

Output size (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning",
relationship 6): ``H_out = 1 + (H + 2*pad - HH) // stride``, likewise for W.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex06_conv.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex06_conv.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex06", slug="conv", title="Convolutional layer: forward and backward", backend="torch",
    oracle_modules=("torch",),
    functions=(Function("conv_forward", ("x", "w", "b", "stride", "pad"), 2),
               Function("conv_backward", ("dout", "cache"), 3)),
    forbidden_calls=(
        "torch.nn.functional",
        "torch.conv1d", "torch.conv2d", "torch.conv3d", "torch.conv_tbc", "torch.conv_transpose1d",
        "torch.conv_transpose2d", "torch.conv_transpose3d", "torch.convolution",
        "torch._convolution", "torch._convolution_mode", "torch.cudnn_convolution",
        "torch.cudnn_convolution_transpose", "torch.mkldnn_convolution",
        "torch.miopen_convolution", "torch.miopen_depthwise_convolution",
        "torch._nnpack_spatial_convolution",
        "torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Conv3d", "torch.nn.ConvTranspose1d",
        "torch.nn.ConvTranspose2d", "torch.nn.ConvTranspose3d", "torch.nn.LazyConv1d",
        "torch.nn.LazyConv2d", "torch.nn.LazyConv3d", "torch.nn.modules.conv",
        "torch.nn.Unfold", "torch.nn.Fold", "torch.nn.grad", "torch._C._nn",
    ),
    # Every aten convolution operator (forward, backward, every backend), and im2col/col2im, the
    # operators behind torch.nn.functional.unfold/fold. Tensor.unfold is aten::unfold: allowed.
    forbidden_ops=(
        "aten::conv", "aten::_convolution", "aten::_conv_depthwise", "aten::cudnn_convolution",
        "aten::miopen_convolution", "aten::miopen_depthwise_convolution", "aten::mkldnn_convolution",
        "aten::mps_convolution", "aten::_mps_convolution", "aten::_nnpack_spatial_convolution",
        "aten::slow_conv", "aten::_slow_conv2d", "aten::thnn_conv", "aten::im2col", "aten::col2im",
    ),
    config={"allowed_calls": ("torch.nn.functional.pad",)},
    checks=(
        signature_check(probe, 1),
        Check("forward_values", "value", 3, check_forward, (FORWARD,),
              "out matches torch.nn.functional.conv2d on 9 configurations (stride 1-3, pad 0-2, "
              "non-square inputs and kernels)"),
        Check("backward_dx", "gradient", 3, check_backward_dx, (FORWARD, BACKWARD),
              "dx matches torch autograd on the same 9 configurations"),
        Check("backward_dw", "gradient", 2, check_backward_dw, (FORWARD, BACKWARD),
              "dw matches torch autograd"),
        Check("backward_db", "gradient", 1, check_backward_db, (FORWARD, BACKWARD),
              "db matches torch autograd"),
        Check("numerical_gradient", "gradient", 2, numerical_check, (FORWARD, BACKWARD),
              "dx, dw, db agree with central differences of your own conv_forward"),
        Check("edge_configs", "value", 3, check_edge_configs, (FORWARD, BACKWARD),
              "output sizes that need the floor, 1x1 kernels, kernel = input, N = C = F = 1"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, (FORWARD, BACKWARD),
              "x, w, b and dout are not changed in place; backward leaves the cache intact"),
        *performance_checks(PLAN),
        forbidden_check(2),
    ),
    teaching=r"""
A convolutional layer slides $F$ filters $w_f$ of shape $(C, HH, WW)$ over the input
$x$ of shape $(N, C, H, W)$, zero-padded by `pad` on every side, moving `stride` steps at a time:
$$\text{out}[n, f, i, j] = b_f + \sum_{c, p, q} w[f, c, p, q]\; x_\text{pad}[n, c,\, i s + p,\, j s + q]$$
(a cross-correlation, as in `torch.nn.functional.conv2d`: the kernel is not flipped), with
$H_\text{out} = 1 + \lfloor (H + 2\,\text{pad} - HH) / s \rfloor$ and likewise for $W_\text{out}$.
`conv_forward(x, w, b, stride=1, pad=0)` returns `(out, cache)`; `conv_backward(dout, cache)`
returns `(dx, dw, db)` shaped like `x`, `w` and `b`. Use plain tensor operations
(`Tensor.unfold`, `as_strided`, `einsum`, matrix products, loops over kernel offsets);
`torch.nn.functional` (except `pad`), built-in convolutions and autograd are not allowed.
""",
)
