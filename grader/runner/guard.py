"""Runtime guard at torch's dispatcher: refuses forbidden operators while student code runs.

A static scan of the source gives a readable message for the obvious cases; this guard catches the
rest (aliases, ``getattr`` tricks, ``torch.ops.aten.*`` calls), because every tensor operation,
however it was reached, passes through the dispatcher as an aten operator. Autograd is detected
from the tensors themselves: the grader never sends a tensor that requires grad, so any operator
that sees one means the student turned autograd on. ``torch.func`` transforms (``grad``, ``vjp``,
``jacrev``, ``jacfwd``...) and forward-mode AD hide that flag (their wrapped tensors are unwrapped
before the dispatcher), so :func:`_autograd_transform_active` asks functorch's interpreter stack
and ``torch.autograd.forward_ad`` instead, where torch's Python API is entered.

Runs inside the student process (imported by :mod:`grader.runner.worker` before the student's
module), so it is a guard for honest-but-lazy code, not a security boundary on its own.
"""
from __future__ import annotations

import contextlib

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

#: operators refused in every torch exercise: autograd's own entry points reached via aten.
AUTOGRAD_OPS = ("aten::_backward", "aten::_fw_primal", "aten::_make_dual", "aten::_unpack_dual")

#: violations recorded in this process (kept even if the student catches the exception).
VIOLATIONS: list[str] = []


class ForbiddenOperation(RuntimeError):
    """Raised inside the student's code when it reaches a forbidden operator."""


class _Guard(TorchDispatchMode):
    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes + AUTOGRAD_OPS

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps __torch_dispatch__ in torch._dynamo.disable otherwise, and the first call
        # then imports torch._dynamo (about 1.5 s in every student process). The student's code
        # is never compiled here, so there is nothing for that wrapper to protect.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name
        if name.startswith(self.prefixes):
            VIOLATIONS.append(name)
            raise ForbiddenOperation(f"dlgrade: the operator {name} is forbidden in this exercise")
        for a in list(args) + list((kwargs or {}).values()):
            if isinstance(a, torch.Tensor) and a.requires_grad:
                VIOLATIONS.append("autograd")
                raise ForbiddenOperation("dlgrade: autograd (requires_grad / backward) is forbidden")
        return func(*args, **(kwargs or {}))


def _function_op_name(func) -> str:
    """The aten-style name of a function seen at torch's Python API: ``aten::lstm_cell`` for
    ``torch.lstm_cell``, ``torch._VF.lstm_cell`` and ``torch.ops.aten.lstm_cell(.default)``;
    ``aten::<__name__>`` for other torch functions (``F.multi_head_attention_forward``)."""
    schema = getattr(func, "_schema", None)
    if schema is not None:
        return str(schema.name)
    qualified = getattr(func, "_qualified_op_name", None)
    if isinstance(qualified, str):
        return qualified
    return "aten::" + str(getattr(func, "__name__", ""))


_functorch = getattr(torch._C, "_functorch", None)
_AUTOGRAD_TRANSFORMS = tuple(getattr(getattr(_functorch, "TransformType", None), k, None)
                             for k in ("Grad", "Jvp"))


def _autograd_transform_active() -> str:
    """What autograd the tensors never show, if active: a torch.func grad or jvp transform
    (``grad``, ``vjp``, ``jacrev``, ``jacfwd``, ``hessian``...; their wrapped tensors are unwrapped
    before the dispatcher guard sees them) or a forward-mode AD level (torch.autograd.forward_ad).
    Returns "" when none is."""
    if getattr(torch.autograd.forward_ad, "_current_level", -1) >= 0:
        return "autograd (forward mode)"
    if _functorch is not None and _functorch.peek_interpreter_stack() is not None:
        for interpreter in _functorch.get_interpreter_stack() or ():
            if interpreter.key() in _AUTOGRAD_TRANSFORMS:
                return "autograd (torch.func)"
    return ""


class _FunctionGuard(TorchFunctionMode):
    """The same prefixes, checked where torch's Python API is entered.

    Needed because CompositeImplicitAutograd operators (``aten::lstm_cell``, ``aten::lstm``,
    ``aten::scaled_dot_product_attention`` on the CPU, ...) are decomposed into ``mm``/``sigmoid``/
    ``bmm`` above the Python dispatch key, so :class:`_Guard` never sees their names. A
    TorchFunctionMode sees ``torch.lstm_cell``, ``getattr(torch, "lstm_cell")`` and
    ``torch.ops.aten.lstm_cell`` alike (all carry that name).
    """

    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def __torch_function__(self, func, types, args=(), kwargs=None):
        transform = _autograd_transform_active()
        if transform:
            VIOLATIONS.append(transform)
            raise ForbiddenOperation(f"dlgrade: {transform} is forbidden")
        if self.prefixes:
            name = _function_op_name(func)
            if name.startswith(self.prefixes):
                VIOLATIONS.append(name)
                raise ForbiddenOperation(f"dlgrade: the operator {name} is forbidden in this exercise")
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def forbidden_ops_guard(prefixes: tuple[str, ...]):
    """Context manager: while active, forbidden aten operators raise :class:`ForbiddenOperation`.

    Args:
        prefixes: aten operator name prefixes, e.g. ``("aten::convolution",)``.
    """
    with _FunctionGuard(tuple(prefixes)), _Guard(prefixes):
        yield
