"""Isolated execution of student code: processes, limits and data-only exchange."""
