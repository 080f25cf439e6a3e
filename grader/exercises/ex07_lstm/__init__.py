"""ex07 LSTM cell: one time step forward and backward, in the gate order i, f, o, g.

Oracles (computed in the grader process, float64): the forward is ``torch.nn.LSTMCell`` with the
contract's weights mapped onto PyTorch's layout (``weight_ih`` is (4H, D) with the gate blocks in
the order i, f, g, o, so ``weight_ih = Wx[:, cols].T`` with ``cols`` taking the contract's blocks
0, 1, 3, 2; ``bias_ih = b[cols]``, ``bias_hh = 0``); the gradients are PyTorch's autograd through
that same cell. ``torch`` is imported only when a check runs, so grading a numpy exercise never
pays for it.

Every gradient is judged against the oracle: the numerical check differentiates the student's own
forward only where it agrees with the oracle (a backward is never judged against a wrong forward),
and the saturation checks include deterministic worst cases (pre-activations of exactly +-710,
+-745, +-1e4) on every seed.

Besides the oracle, a check recognises the usual mistakes by recomputing the forward with one
thing changed (the gates read in another order, no tanh on next_c, no forget gate, ...) and, for
the weight gradients, by comparing each of the four gate blocks of H columns on its own. Those
recognisers only choose the hint of a failing check; the verdict always comes from the oracle.

Sources: Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8), 1997; Gers,
Schmidhuber & Cummins, "Learning to Forget", Neural Computation 12(10), 2000 (the forget gate);
PyTorch's ``torch.nn.LSTMCell`` documentation for its gate layout.
"""
from __future__ import annotations

from grader.checks.performance import checks_for as performance_checks
from grader.exercises.ex07_lstm.checks import *  # noqa: F401,F403 - the checks and oracles
from grader.exercises.ex07_lstm.plan import PLAN

EXERCISE = Exercise(
    plan=PLAN, id="ex07", slug="lstm", title="LSTM cell: one step forward and backward", backend="torch",
    oracle_modules=("torch",),
    functions=(Function(FWD, FWD_PARAMS, 3), Function(BWD, BWD_PARAMS, 6)),
    forbidden_calls=("torch.nn.LSTM", "torch.nn.LSTMCell", "torch.nn.RNN", "torch.nn.RNNCell",
                     "torch.nn.RNNBase", "torch.nn.RNNCellBase", "torch.nn.GRU", "torch.nn.GRUCell",
                     "torch.nn.modules.rnn", "torch.lstm", "torch.lstm_cell", "torch.rnn_tanh",
                     "torch.rnn_tanh_cell", "torch.rnn_relu", "torch.rnn_relu_cell", "torch.gru",
                     "torch.gru_cell", "torch._VF", "torch.nn.functional", "torch._C"),
    forbidden_ops=("aten::lstm", "aten::_thnn_", "aten::rnn_tanh", "aten::rnn_relu", "aten::gru",
                   "aten::_cudnn_rnn", "aten::miopen_rnn", "aten::mkldnn_rnn", "aten::quantized_lstm",
                   "aten::quantized_gru", "aten::quantized_rnn"),
    checks=(
        signature_check(probe, 1),
        Check("forward_next_c", "value", 2, check_next_c, (FWD,),
              "next_c matches torch.nn.LSTMCell (gate order i, f, o, g) on four shapes"),
        Check("forward_next_h", "value", 2, check_next_h, (FWD,),
              "next_h matches torch.nn.LSTMCell on four shapes"),
        Check("forward_saturated", "property", 2, check_forward_saturated, (FWD,),
              "finite and exact with gate pre-activations of exactly +-710, +-745, +-1e4 and "
              "random ones of 1e3..1e4"),
        Check("backward_dx_dprev_h", "gradient", 2, check_backward_dx_dh, (FWD, BWD),
              "dx and dprev_h match autograd"),
        Check("backward_dprev_c", "gradient", 2, check_backward_dprev_c, (FWD, BWD),
              "dprev_c matches autograd"),
        Check("backward_dweights", "gradient", 3, check_backward_weights, (FWD, BWD),
              "dWx, dWh and db match autograd, gate block by gate block"),
        Check("backward_numeric", "gradient", 2, check_backward_numeric, (FWD, BWD),
              "all six gradients agree with central differences of the step (yours where it is "
              "right)"),
        Check("backward_saturated", "property", 1, check_backward_saturated, (FWD, BWD),
              "gradients finite and exact with saturated gates"),
        Check("upstream_untouched", "property", 1, check_upstream_untouched, (FWD, BWD),
              "dnext_h and dnext_c are not changed in place"),
        Check("inputs_untouched", "property", 1, check_inputs_untouched, (FWD,),
              "x, prev_h, prev_c, Wx, Wh and b are not changed in place"),
        *performance_checks(PLAN),
        forbidden_check(1),
    ),
    teaching=r"""
One step of an LSTM cell. One affine map gives the pre-activations of four gates,
$a = x W_x + h_{t-1} W_h + b$ of shape (N, 4H), split into four blocks of H columns **in the order
i, f, o, g**: $i = \sigma(a_i)$, $f = \sigma(a_f)$, $o = \sigma(a_o)$, $g = \tanh(a_g)$. Then
$c_t = f \odot c_{t-1} + i \odot g$ and $h_t = o \odot \tanh(c_t)$.

The backward pass is the chain rule through these elementwise operations. Remember that $c_t$
reaches the loss twice, directly and through $h_t$:
$dc = dc_t + dh_t \odot o \odot (1 - \tanh^2 c_t)$, and $dc_{t-1} = dc \odot f$. Do not change
`dnext_h` or `dnext_c` in place, and use `torch.sigmoid`/`torch.tanh` (stable for pre-activations
of any size) rather than formulas with `exp`.
""",
)
