"""Results of grading, and the JSON report of the contract (section 4)."""
from __future__ import annotations

from dataclasses import dataclass, field

from grader import __version__


@dataclass
class CheckResult:
    """The verdict of one check.

    Attributes:
        name, kind: from the check's spec. status: ``pass``/``fail``/``error``/``skip``.
        score, max_score: points (a skipped check has 0 and 0). duration_s: wall seconds.
        message: student-facing text ("" on pass). calls: calls made to student functions.
        output: what the student's code printed while the check ran (truncated), if anything.
        metrics: what a passing check measured, by unit (the performance checks: ``{"ratio":
            time / reference time, "ms": milliseconds per call}`` per timed function); the
            Gradescope leaderboard reads it.
    """

    name: str
    kind: str
    status: str
    score: float
    max_score: float
    duration_s: float = 0.0
    message: str = ""
    calls: int = 0
    description: str = ""
    output: str = ""
    metrics: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind, "status": self.status, "score": self.score,
             "max_score": self.max_score, "duration_s": round(self.duration_s, 4),
             "message": self.message, "calls": self.calls}
        if self.description:
            d["description"] = self.description
        if self.output:
            d["output"] = self.output
        if self.metrics:
            d["metrics"] = self.metrics
        return d


@dataclass
class ExerciseResult:
    """All checks of one exercise for one submission."""

    id: str
    name: str
    path: str
    checks: list[CheckResult] = field(default_factory=list)
    duration_s: float = 0.0
    #: The command that grades this exercise again with the same inputs and options.
    reproduce: str = ""

    @property
    def score(self) -> float:
        return float(sum(c.score for c in self.checks))

    @property
    def max_score(self) -> float:
        return float(sum(c.max_score for c in self.checks))

    @property
    def passed(self) -> bool:
        return all(c.status in ("pass", "skip") for c in self.checks)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "path": self.path, "score": self.score,
                "max_score": self.max_score, "duration_s": round(self.duration_s, 3),
                **({"reproduce": self.reproduce} if self.reproduce else {}),
                "checks": [c.to_dict() for c in self.checks]}


@dataclass
class Report:
    """A whole run: what ``--json`` writes."""

    seed: int
    device: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    #: The command that grades every exercise of this run again with the same inputs and options
    #: (path, seed, ``--no-perf``, device): pasting it gives the same scores.
    reproduce: str = ""

    @property
    def score(self) -> float:
        return float(sum(e.score for e in self.exercises))

    @property
    def max_score(self) -> float:
        return float(sum(e.max_score for e in self.exercises))

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.exercises)

    def exit_code(self) -> int:
        """0 every check passed, 1 some check failed, 2 the grader itself broke (contract §3)."""
        if self.internal_errors:
            return 2
        return 0 if self.passed else 1

    def to_dict(self) -> dict:
        return {"dlgrade_version": __version__, "seed": self.seed, "device": self.device,
                "score": self.score, "max_score": self.max_score,
                **({"reproduce": self.reproduce} if self.reproduce else {}),
                "exercises": [e.to_dict() for e in self.exercises]}
