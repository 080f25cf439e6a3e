"""Shared fixtures: the repository root and a grading helper that uses the real engine."""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def grade_file(exercise_id: str, path, seed: int = 1234, **opts):
    """Grade one exercise of ``path`` with the real engine; returns the ExerciseResult."""
    from grader.engine import Options, grade
    from grader.exercises import resolve
    report = grade([resolve(exercise_id)], path, Options(seed=seed, **opts))
    return report.exercises[0]
