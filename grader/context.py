"""What a check sees: :class:`Context`, its calls into the student's code, and what they raise.

Checks call the student's functions only through a :class:`Context`, so every call crosses the
process boundary and comes back as validated data.
"""
from __future__ import annotations

import zlib

import numpy as np

from grader.runner.process import StudentProcess
from grader.spec import Check, Exercise


class StudentRaised(Exception):
    """The student's function raised. ``error`` holds type, message and trimmed traceback;
    ``on`` what the check was judging when it did (e.g. "X of shape (4, 3)"; "" unknown)."""

    def __init__(self, fn: str, error: dict, on: str = ""):
        super().__init__(error.get("message", ""))
        self.fn = fn
        self.error = error
        self.on = on


class Forbidden(Exception):
    """The student's code reached a forbidden operator at run time."""



class Context:
    """What a check sees: seeded randomness, the device, and calls into the student's code.

    Attributes:
        exercise: the :class:`Exercise`. seed: the run's seed. device: "cpu"/"cuda".
        rng: ``np.random.Generator`` seeded from (seed, exercise, check name): each check's
            inputs are reproducible on their own.
        source: the student's source text (for static checks).
        calls: number of calls made to student functions by this check.
        metrics: what the check measured, by unit (kept in the result when it passes; the
            performance checks record ``{"ratio", "ms"}`` per timed function).
    """

    def __init__(self, exercise: Exercise, check: Check, seed: int, device: str,
                 process: StudentProcess, source: str, perf: bool = True):
        self.exercise = exercise
        self.check = check
        self.seed = seed
        self.device = device
        self.perf = perf
        self.process = process
        self.source = source
        self.calls = 0
        self.metrics: dict = {}
        self.violations: list[str] = []
        self.warnings: list[str] = []
        self.global_rng_changed: list[list[str]] = []
        self.rng = np.random.default_rng([seed, exercise.number, zlib.crc32(check.name.encode())])

    @property
    def tensor_device(self) -> str | None:
        """Device type outputs must be on (``None`` for numpy exercises)."""
        return self.device if self.exercise.backend == "torch" else None

    def map(self, fn: str, argsets: list, *, inputs: bool = False,
            global_rng_seed: int | None = None, keep: tuple[int, ...] = ()) -> list:
        """Call ``fn`` once per ``(args, kwargs)`` in ``argsets``, in one round trip.

        Args:
            fn: the student's function name.
            argsets: list of ``(args_tuple, kwargs_dict)``; arrays are float64 numpy arrays
                (converted to torch tensors on the device in torch exercises).
            inputs: also return the arguments as they were after each call (to detect in-place
                changes): each item is then ``(value, (args_after, kwargs_after))``.
            global_rng_seed: seed the student process's global generators (``np.random``,
                ``random``) with this before each call and record, per call, in
                :attr:`global_rng_changed` which of them the call used (a list of names).
            keep: positions in the returned tuple to leave in the student process and return as
                opaque :class:`~grader.runner.codec.Handle` s (e.g. ``(1,)`` for the ``cache`` of
                ``(out, cache)``); pass the handle back as an argument to a later call.

        Returns:
            The decoded return values (numpy arrays, :class:`~grader.runner.codec.Tensor`,
            handles, tuples, numbers).

        Raises:
            StudentRaised: the function raised (with the student's traceback).
            Forbidden: a forbidden operator was reached.
            StudentCrash: the process died or hung.
        """
        calls = [{"fn": fn, "args": list(a), "kwargs": dict(k), "inputs": inputs} for a, k in argsets]
        if global_rng_seed is not None:
            for c in calls:
                c["global_rng_seed"] = int(global_rng_seed)
        if keep:
            for c in calls:
                c["keep"] = [int(i) for i in keep]
        results = []
        # Keep messages to the student process bounded: chunks of 512 calls.
        for start in range(0, len(calls), 512):
            chunk = calls[start:start + 512]
            out = self.process.calls_batch(chunk)
            self.calls += len(out)
            for r in out:
                if r.get("forbidden"):
                    self.violations.extend(str(v) for v in r["forbidden"])
                    raise Forbidden(", ".join(map(str, r["forbidden"])))
                if r.get("ok") is not True:
                    err = r.get("error") if isinstance(r.get("error"), dict) else {}
                    raise StudentRaised(fn, err)
                self.warnings.extend(str(w) for w in (r.get("warnings") or []))
                if global_rng_seed is not None:
                    used = r.get("global_rng_changed")
                    self.global_rng_changed.append(
                        [str(u) for u in used] if isinstance(used, list) else ["unknown"])
                results.append((r.get("value"), r.get("inputs")) if inputs else r.get("value"))
        return results

    def call(self, fn: str, *args, **kwargs):
        """Call ``fn(*args, **kwargs)`` in the student process; see :meth:`map`."""
        return self.map(fn, [(args, kwargs)])[0]

    def rng_handle(self, seed: int):
        """A :class:`~grader.runner.codec.Handle` to ``np.random.default_rng(seed)`` living in the
        student process: pass it to several calls and they share one generator that advances
        (unlike :class:`~grader.runner.codec.Rng`, which builds a fresh generator per call)."""
        return self.process.new_rng(seed)

    def call_with_inputs(self, fn: str, *args, **kwargs):
        """Like :meth:`call`, returning ``(value, (args_after, kwargs_after))``."""
        return self.map(fn, [(args, kwargs)], inputs=True)[0]

    def signature(self, fn: str) -> list[str] | None:
        """Parameter names of the student's ``fn`` as the student process reports them, or None
        when the module has no such function."""
        return self.process.signature(fn)
