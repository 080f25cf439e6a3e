"""The engine's rules around the checks: what applies, what a crash looks like, what earns points.

:func:`grader.engine.grade_exercise` runs an exercise's checks; these functions decide what it
reports around them, the same way for every exercise:

- :func:`skip_reason`: whether a check applies is decided from the options alone, before anything
  runs, so a missing file, an import error and a correct submission have the same ``max_score``
  under the same options (``--no-perf`` skips the performance checks, CUDA checks skip without
  CUDA).
- :class:`Crashes`: a crash in the student's code is shown once per exercise, with the student's
  own traceback, by the first check that hits it; later checks name that check instead of
  repeating the block.
- :func:`demonstrated`: points only for demonstrated work. A property check keeps its pass only
  when every function it names (every function of the exercise when it names none) passed a
  value, gradient or statistic check; a performance check only when every function it times
  passed *every* such check that names it (a fast but wrong, self-consistent implementation
  earns no speed point); the forbidden check only when some function passed one.
  An unimplemented exercise (functions that raise, return None or ``pass``) thus scores 0.
- :func:`reproduce_args`: the options a pasted ``dlgrade check`` needs to give the same scores.
"""
from __future__ import annotations

import shlex

#: Kinds whose pass shows that a function computes the right thing.
EVIDENCE = ("value", "gradient", "statistic")
#: Exception types whose message is already short and specific (no traceback to deduplicate).
_SHORT = ("NotImplementedError", "MissingFunction")


def skip_reason(check, exercise, device: str, perf: bool) -> str | None:
    """Why ``check`` does not apply under these options, or None when it runs.

    Args:
        check: the :class:`grader.spec.Check`. exercise: its :class:`grader.spec.Exercise`.
        device: the exercise's resolved device ("cpu"/"cuda"). perf: performance checks on.

    Returns:
        The skip message, decided from the options alone (never from the student's code).
    """
    cuda_only = check.name.startswith("cuda_")
    if cuda_only and device != "cuda":
        return ("no CUDA device in use: this check runs with --device cuda (or --device auto on a "
                "machine with a GPU)")
    if check.kind == "performance" and not perf:
        return "performance checks off (--no-perf)"
    if check.name == "performance" and exercise.backend == "torch" and device == "cuda":
        return "the CPU timing runs with --device cpu; on the GPU, cuda_performance times your code"
    return None


class Crashes:
    """The crashes of one exercise's student code, so each is shown in full only once.

    A crash is identified by its exception type, message and the student's line it came from:
    the same bug reached by several checks.
    """

    def __init__(self):
        self.first: dict[tuple, str] = {}

    def text(self, fn: str, error: dict, check: str, full: str) -> str:
        """The message for ``error`` (raised by ``fn``) in ``check``: ``full`` (the student's
        traceback) the first time, a reference to that check afterwards."""
        etype = str(error.get("type", "Exception"))
        if etype in _SHORT or not str(error.get("traceback") or "").strip():
            return full            # nothing long to repeat: a short message stays whole
        message = str(error.get("message", ""))
        key = (etype, message, error.get("line"))
        if key not in self.first:
            self.first[key] = check
            return full
        head = full.split("\n", 1)[0]
        frames = [ln.strip() for ln in str(error.get("traceback") or "").splitlines()
                  if ln.strip().startswith('File "')]
        where = f", {frames[-1]}" if frames else ""
        return (f"{head}\n  ({fn} raised the same {etype} as in {self.first[key]}{where}; the "
                "whole traceback is shown there)")


def demonstrated(results: list, exercise, specs=None) -> list[tuple[int, str]]:
    """The passes that must become fails because the work they reward is not demonstrated.

    Args:
        results: :class:`grader.results.CheckResult` s, one per check of ``specs``.
        exercise: the :class:`grader.spec.Exercise`. specs: the checks ``results`` are of
            (default: all the exercise's, in spec order).

    Returns:
        ``(index, message)`` for each check to turn into a fail.
    """
    specs = exercise.checks if specs is None else specs
    shown = {f for c, spec in zip(results, specs)
             if c.status == "pass" and spec.kind in EVIDENCE for f in spec.functions}
    wrong = {f for c, spec in zip(results, specs)
             if c.status in ("fail", "error") and spec.kind in EVIDENCE for f in spec.functions}
    everything = tuple(f.name for f in exercise.functions)
    out = []
    for i, (c, spec) in enumerate(zip(results, specs)):
        if c.status != "pass":
            continue
        if spec.kind in ("performance", "property"):
            unproven = [f for f in (spec.functions or everything)
                        if f not in shown or (spec.kind == "performance" and f in wrong)]
            if not unproven:
                continue
            names = unproven[0] if len(unproven) == 1 else \
                ", ".join(unproven[:-1]) + f" and {unproven[-1]} each"
            if spec.kind == "performance":
                out.append((i, f"{names} did not pass its correctness checks (every one that "
                               "names it), so its speed earns nothing yet: speed counts for code "
                               "that computes the right values"))
            else:
                out.append((i, f"{names} did not pass its correctness checks yet, so this "
                               "property earns nothing yet (it counts for code that also "
                               "computes the right values)"))
        elif spec.kind == "forbidden" and not shown:
            out.append((i, "no check passed that shows working code (a value, gradient or "
                           "statistic check), so there is nothing to clear of forbidden calls "
                           "yet"))
    return out


def reproduce_args(path, opts) -> list[str]:
    """The ``dlgrade check`` options besides exercises and seed that the run used.

    ``--path`` unless it is the current folder, ``--no-perf`` when performance checks were off,
    ``--device`` when the run used another device than the default CPU and no course
    configuration chose devices per exercise (it will choose them again).
    """
    args = []
    if str(path) not in (".", "./", ""):
        args += ["--path", str(path)]
    if not opts.perf:
        args.append("--no-perf")
    if not opts.devices and opts.device != "cpu":
        args += ["--device", opts.device]
    return args


def reproduce_command(ids, seed: int, args) -> str:
    """``dlgrade check ex04 ex06 --seed 5 --path repo --no-perf``, quoted for a POSIX shell."""
    return shlex.join(["dlgrade", "check", *ids, "--seed", str(seed), *args])
