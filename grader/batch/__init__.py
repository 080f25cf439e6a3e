"""Whole-class grading: ``dlgrade grade-batch SUBMISSIONS_DIR --csv grades.csv
[--executor local|slurm]``.

``SUBMISSIONS_DIR`` holds one folder per student (a clone of the student's repository, or a folder
of exercise modules). Students are graded by :func:`grader.batch.chunk.grade_chunk` through
:func:`grader.engine.grade` (the same path as ``dlgrade check``), either in ``-j`` worker
processes on this machine (:mod:`grader.batch.local`) or as a Slurm job array submitted through
submitit (:mod:`grader.batch.slurm`). Both executors promise the same:

* One CSV row per student, appended, flushed and ``fsync``-ed the moment the student's report is
  on disk: an interrupted batch (Ctrl-C, a killed job, a power cut) loses no finished row. Each
  student's full report (the contract's JSON plus ``student``, ``fingerprint``,
  ``internal_errors``, ``duration_s``, ``node``, ``gpu``, ``cpu``, ``executor``, ``job``) is
  written next to the CSV (``<csv stem>-reports/<student>.json`` by default).
* A submission that crashes, hangs, exits, is missing files or prints CI workflow commands gets its
  row like any other (the engine bounds every call with :class:`~grader.runner.process.Limits`).
  As a second line of defence a local worker that dies or overruns its wall-clock backstop is
  killed with all its descendants and replaced (that exercise: ``grader-error``); a Slurm task
  that fails, times out or is preempted is retried once, then reported per student.
* Re-running skips a student whose row exists with the same *fingerprint*: the SHA-256 of the
  folder's content (relative paths and bytes of its regular files; ``.git``, caches and symlink
  targets excluded from reading) together with dlgrade's version and the grading options. A
  changed folder, a new dlgrade, other exercises or ``--force`` grade again. A report that an
  interrupted run finished is taken as it is, and a student interrupted half-way resumes at the
  exercise it was on.
* One seed for the whole batch, recorded in ``<reports>/.batch.json`` by its first run and kept
  by every resumed run (``--seed`` chooses another; rows graded with another seed are then graded
  again).

CSV columns: ``student, status, score, max_score, <one column per exercise id>, checks_passed,
checks_not_passed, errors, seed, fingerprint, report, graded_at, duration_s, dlgrade_version``.
``status`` is ``pass`` (full marks), ``fail`` (some check failed), ``error`` (the submission could
not be run for some check: missing file, import failure, crash, hang, exception) or
``grader-error`` (dlgrade itself failed; re-run, and report it if it persists). Text cells are
neutralised and guarded against spreadsheet formula injection.
"""
from grader.batch.chunk import exercise_from_dict, grade_chunk
from grader.batch.command import grade_batch_command
from grader.batch.rows import (STATUSES, columns, discover, fingerprint, folder_hash, read_rows,
                               row_for)
from grader.batch.rows import cell as _cell
from grader.batch.run import run_batch
from grader.batch.spec import BatchOptions, BatchSummary, SlurmOptions

__all__ = ["BatchOptions", "BatchSummary", "SlurmOptions", "STATUSES", "columns", "discover",
           "exercise_from_dict", "fingerprint", "folder_hash", "grade_batch_command",
           "grade_chunk", "read_rows", "row_for", "run_batch", "_cell"]
