"""Runtime guard at torch's dispatcher: refuses forbidden operators while student code runs.

A static scan of the source gives a readable message for the obvious cases; this guard catches the
rest (aliases, ``getattr`` tricks, ``torch.ops.aten.*`` calls), because every tensor operation,
however it was reached, passes through the dispatcher as an aten operator. Autograd is detected
from the tensors themselves: the grader never sends a tensor that requires grad, so any operator
that sees one means the student turned autograd on.

Runs inside the student process (imported by :mod:`grader.runner.worker` before the student's
module), so it is a guard for honest-but-lazy code, not a security boundary on its own.
"""
from __future__ import annotations

import contextlib

import torch
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


@contextlib.contextmanager
def forbidden_ops_guard(prefixes: tuple[str, ...]):
    """Context manager: while active, forbidden aten operators raise :class:`ForbiddenOperation`.

    Args:
        prefixes: aten operator name prefixes, e.g. ``("aten::convolution",)``.
    """
    with _Guard(prefixes):
        yield
