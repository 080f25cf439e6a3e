"""dlgrade: exercises and an autograder for hand-written deep-learning building blocks.

The package is imported by the ``dlgrade`` command; its submodules are kept light so that a
student process (forked from :mod:`grader.runner.worker`) loads nothing but the runner.
"""
__version__ = "0.1.0"
