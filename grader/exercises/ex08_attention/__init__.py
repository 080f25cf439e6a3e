"""ex08 self-attention: single-head scaled dot-product attention, forward and backward.

Oracles (computed in the grader process, float64): the forward is
``torch.nn.functional.scaled_dot_product_attention(Q, K, V, is_causal=causal)`` on
``Q, K, V = x @ Wq, x @ Wk, x @ Wv`` (its default scale is 1/sqrt(dk), the size of Q's last axis);
the gradients are PyTorch's autograd through that same graph. ``torch`` is imported only when a
check runs, so grading a numpy exercise never pays for it. Every configuration has D, dk and dv
all different, so a weight or axis mixed up with another raises or shows.

Every gradient is judged against the oracle: the numerical check differentiates the student's own
forward only where it agrees with the oracle, and the stability check includes deterministic worst
cases (rows of zero scores beside rows of +-5e3, which a softmax shifted by the global maximum
turns into 0/0) on every seed.

Besides the oracle, a check recognises the usual mistakes to choose its hint (the verdict always
comes from the oracle): the forward recomputed with one thing changed (no scaling or 1/dk, softmax
over the query axis, scores transposed, the causal mask off by one, flipped or ignored, the mask
applied after the softmax), and for the backward a wrong upstream gradient injected at the scores
and carried to the weights by autograd (the softmax Jacobian without its row-sum term), the scale
factors of the usual forgotten constants, and dx with one of its three paths missing.

Sources: Vaswani et al., "Attention Is All You Need", NeurIPS 2017, sections 3.2.1 and 3.2.3;
PyTorch's ``scaled_dot_product_attention`` documentation (default scale 1/sqrt(E), ``is_causal``
= a lower-triangular mask that includes the diagonal).
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex08_attention.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex08_attention.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex08", slug="attention", title="Scaled dot-product self-attention", backend="torch",
    oracle_modules=("torch",),
    functions=(Function(FWD, FWD_PARAMS + ("causal",), 2), Function(BWD, ("dout", "cache"), 4)),
    forbidden_calls=("torch.nn.functional.scaled_dot_product_attention", "torch.nn.MultiheadAttention",
                     "torch.nn.functional.multi_head_attention_forward",
                     "torch.nn.modules.activation.MultiheadAttention", "torch.nn.attention",
                     "torch.nn.Transformer", "torch.nn.TransformerEncoder",
                     "torch.nn.TransformerEncoderLayer", "torch.nn.TransformerDecoder",
                     "torch.nn.TransformerDecoderLayer", "torch._C"),
    # _masked_softmax and _safe_softmax are internal fused mask-and-softmax kernels (the second is
    # what scaled_dot_product_attention's math path runs, so it is caught even when the call is
    # hidden from the Python-level guard); torch.softmax / F.softmax stay allowed.
    forbidden_ops=("aten::scaled_dot_product_attention", "aten::_scaled_dot_product",
                   "aten::_flash_attention", "aten::_efficient_attention", "aten::_fused_sdp",
                   "aten::_cudnn_attention", "aten::_native_multi_head_attention",
                   "aten::multi_head_attention_forward", "aten::_transformer",
                   "aten::_masked_softmax", "aten::_safe_softmax"),
    checks=(
        signature_check(probe, 1),
        Check("forward_values", "value", 3, check_forward, (FWD,),
              "out matches scaled_dot_product_attention (causal=False) with D, dk, dv all different"),
        Check("forward_causal", "value", 2, check_forward_causal, (FWD,),
              "out matches scaled_dot_product_attention with is_causal=True"),
        Check("causality", "property", 2, check_causality, (FWD,),
              "with causal=True, changing later positions leaves earlier outputs unchanged"),
        Check("stability", "property", 2, check_stability, (FWD,),
              "finite and exact for scores up to 5e3 in size, rows of zeros beside rows of 5e3"),
        Check("backward_dWv", "gradient", 2, check_backward_dwv, (FWD, BWD),
              "dWv matches autograd (causal and not)"),
        Check("backward_dWq_dWk", "gradient", 2, check_backward_dwq_dwk, (FWD, BWD),
              "dWq and dWk match autograd (causal and not)"),
        Check("backward_dx", "gradient", 2, check_backward_dx, (FWD, BWD), "dx matches autograd"),
        Check("backward_numeric", "gradient", 2, check_backward_numeric, (FWD, BWD),
              "all four gradients agree with central differences of the forward (yours where it "
              "is right)"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, (FWD, BWD),
              "x, Wq, Wk, Wv and dout are not changed in place"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
Single-head self-attention on a batch of sequences x of shape (N, T, D):
$Q = xW_q$, $K = xW_k$ (width $d_k$), $V = xW_v$ (width $d_v$),
$S = QK^\top/\sqrt{d_k}$, $A = \mathrm{softmax}(S)$ over the last axis, $\text{out} = AV$.
With `causal=True` position t attends only to positions $\le t$: set $S_{ts} = -\infty$ for $s > t$
before the softmax. Subtract each row's maximum before `exp` so that large scores do not overflow.
In the backward pass the softmax Jacobian gives $dS = A \odot (dA - \sum_s dA \odot A)$, and x
receives gradient through Q, K and V.
""",
)
