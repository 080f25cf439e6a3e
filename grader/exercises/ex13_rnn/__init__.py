"""ex13 recurrent network: a vanilla (tanh) RNN over a sequence, backpropagation through time,
and gradient-norm clipping, in torch.

Oracles (computed in the grader process, float64, CPU; see :mod:`.configs`): the forward is
``torch.rnn_tanh``, the kernel behind ``torch.nn.RNN(nonlinearity="tanh")``, with the contract's
weights mapped onto PyTorch's layout (``weight_ih = Wx.T``, ``weight_hh = Wh.T``, ``bias_ih = b``,
``bias_hh = 0``); the gradients are torch autograd through it; clipping is
``torch.nn.utils.clip_grad_norm_`` on copies. The ``cache`` of ``rnn_forward`` stays in the student
process as a handle.

Shapes: T from 1 to 12, D != H everywhere (Wx and Wh cannot be mixed up unnoticed), N = 1 and
H = 1 among them; a non-symmetric Wh (so ``Wh`` and ``Wh.T`` differ). ``backward_through_time``
puts the whole upstream gradient on the last state, so the early steps get gradient only through
the recursion. Saturated cases put pre-activations of 1e3..1e4 on half of the hidden units. The
clipping cases cover norms above and below max_norm, one tensor, a large and a small tensor
(where per-tensor clipping differs), norms of order 1e-6 (where the 1e-6 of torch's denominator
matters) and all-zero gradients. Recognisers in :mod:`.diagnose` choose the hints: the
gradient from later steps missing, dWh built from h_t, tanh' of the pre-activation, weight
gradients overwritten, dh0 wrong, per-tensor clipping, clipping below max_norm, the 1e-6 missing.

Identity cannot cross the process boundary, so "clipped holds new tensors" is judged by its
observable consequence: the gradients passed in come back unchanged (``clip_untouched``).

Sources: J. L. Elman, "Finding structure in time", Cognitive Science 14(2), 1990; P. J. Werbos,
"Backpropagation through time: what it does and how to do it", Proc. IEEE 78(10), 1990;
R. Pascanu, T. Mikolov and Y. Bengio, "On the difficulty of training recurrent neural networks",
ICML 2013 (gradient norm clipping); PyTorch's ``torch.nn.RNN`` and ``clip_grad_norm_`` documentation.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex13_rnn.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex13_rnn.clip import check_clip_norm, check_clip_untouched, check_clip_values
from grader.exercises.ex13_rnn.configs import CLIP
from grader.exercises.ex13_rnn.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex13", slug="rnn", title="Recurrent network through time, with gradient clipping",
    backend="torch", oracle_modules=("torch",),
    functions=(Function(FWD, FWD_PARAMS, 2), Function(BWD, ("dh", "cache"), 5),
               Function(CLIP, ("grads", "max_norm"), 2)),
    forbidden_calls=("torch.nn.RNN", "torch.nn.RNNCell", "torch.nn.RNNBase", "torch.nn.RNNCellBase",
                     "torch.nn.LSTM", "torch.nn.LSTMCell", "torch.nn.GRU", "torch.nn.GRUCell",
                     "torch.nn.modules.rnn", "torch.rnn_tanh", "torch.rnn_tanh_cell",
                     "torch.rnn_relu", "torch.rnn_relu_cell", "torch.lstm", "torch.lstm_cell",
                     "torch.gru", "torch.gru_cell", "torch._VF", "torch.nn.functional",
                     "torch.nn.utils.clip_grad", "torch.nn.utils.clip_grad_norm",
                     "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
                     "torch.nn.utils.clip_grads_with_norm_", "torch.nn.utils.get_total_norm",
                     "torch.nn.utils.rnn", "torch._C"),
    # aten's recurrent kernels (every backend), and aten::_foreach_norm, the norm over a list of
    # tensors behind clip_grad_norm_ and get_total_norm (their default, foreach path). The rest of
    # clip_grad_norm_ is plain norm/mul, so an alias of it with foreach=False is refused by the
    # static scan above (by name) only.
    forbidden_ops=("aten::rnn_tanh", "aten::rnn_relu", "aten::lstm", "aten::gru", "aten::_thnn_",
                   "aten::_cudnn_rnn", "aten::miopen_rnn", "aten::mkldnn_rnn", "aten::quantized_lstm",
                   "aten::quantized_gru", "aten::quantized_rnn", "aten::_foreach_norm"),
    checks=(
        signature_check(probe, 1),
        Check("forward_values", "value", 3, check_forward, (FWD,),
              "h matches torch.nn.RNN (tanh) on five shapes, T from 1 to 12"),
        Check("forward_saturated", "property", 1, check_forward_saturated, (FWD,),
              "finite and exact with pre-activations of 1e3..1e4"),
        Check("backward_dx_dh0", "gradient", 2, check_backward_dx_dh0, (FWD, BWD),
              "dx and dh0 match autograd"),
        Check("backward_weights", "gradient", 3, check_backward_weights, (FWD, BWD),
              "dWx, dWh and db match autograd (sums over the batch and the time steps)"),
        Check("backward_through_time", "gradient", 2, check_through_time, (FWD, BWD),
              "with the whole upstream gradient on the last state, the early steps get theirs "
              "through the recursion"),
        Check("backward_numeric", "gradient", 2, check_backward_numeric, (FWD, BWD),
              "all five gradients agree with central differences of your forward"),
        Check("backward_saturated", "property", 1, check_backward_saturated, (FWD, BWD),
              "gradients finite and exact with saturated units"),
        Check("clip_norm", "value", 1, check_clip_norm, (CLIP,),
              "total_norm matches torch.nn.utils.clip_grad_norm_ (one norm over all tensors)"),
        Check("clip_values", "value", 2, check_clip_values, (CLIP,),
              "clipped tensors match clip_grad_norm_: one factor min(1, max_norm / (norm + 1e-6))"),
        Check("clip_untouched", "property", 1, check_clip_untouched, (CLIP,),
              "the gradients passed in are not changed (clipped holds new tensors)"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, (FWD, BWD),
              "x, h0, Wx, Wh, b and dh are not changed in place; backward leaves the cache intact"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
A vanilla recurrent network reads a sequence one step at a time:
$h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$ for $t = 1..T$, from $h_0$; `rnn_forward(x, h0, Wx, Wh, b)`
returns all the states `h` (N, T, H) and a cache. The backward pass, *backpropagation through
time*, runs the steps in reverse: the gradient reaching $h_t$ is the upstream `dh[:, t]` **plus**
the gradient flowing back from step $t+1$; with $da_t = (dh_t + dnext) \odot (1 - h_t^2)$ the
next one is $da_t W_h^\top$, and $dW_h = \sum_t h_{t-1}^\top da_t$ (the weights are shared by all
steps). `rnn_backward(dh, cache)` returns `(dx, dh0, dWx, dWh, db)`.

Gradients through many steps vanish or explode. `clip_grad_norm(grads, max_norm)` computes one
2-norm over all the tensors together and multiplies every tensor by
$\min(1, \text{max\_norm} / (\text{total\_norm} + 10^{-6}))$, as `torch.nn.utils.clip_grad_norm_`
does, but into new tensors; it returns `(clipped, total_norm)`. No built-in RNN layers, no
`torch.nn.functional`, no built-in clipping, no autograd.
""",
)
