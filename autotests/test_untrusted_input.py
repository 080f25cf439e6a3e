"""Untrusted input (issue 11, classes 2 and 3): files, bytes, notebooks, values and messages.

Class 2 (files): only regular files physically inside the student's own folder are graded.
Symbolic links, hard links, FIFOs, devices and paths resolving outside the folder are refused with
one line naming the path, as an ``error`` of that exercise's checks, and never block the grader.

Class 3 (anything a student controls): file bytes, notebook JSON, returned values and exception
messages of any content end as ``fail``/``error`` of that student's own checks, and every report
is still written and valid.
"""
from __future__ import annotations

import os
import signal
import stat
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, grade_file
from grader.files import Refused, read_student_file

SIGMOID = (ROOT / "solutions" / "ex01_sigmoid.py").read_text()


@pytest.fixture
def alarm():
    """Fail (rather than hang) a test whose grader blocks for 60 s."""
    def hung(signum, frame):
        raise TimeoutError("the grader blocked")
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def student(tmp_path: Path) -> Path:
    folder = tmp_path / "student"
    (folder / "exercises").mkdir(parents=True)
    return folder


def assert_refused(result, path_part: str, why: str) -> None:
    """Every check that ran is an ``error`` whose one-line message names the path and why."""
    ran = [c for c in result.checks if c.status != "skip"]
    assert ran and all(c.status == "error" for c in ran), [(c.name, c.status) for c in ran]
    for c in ran:
        line = c.message.split("\n")[0]
        assert path_part in line and why in line, c.message
        assert "\n" not in c.message.strip(), c.message


# -- class 2: files ----------------------------------------------------------------------------
def test_a_regular_file_is_read(tmp_path):
    """Control: a plain file of the folder is read (the refusals below are not blanket ones)."""
    folder = student(tmp_path)
    f = folder / "exercises" / "ex01_sigmoid.py"
    f.write_text(SIGMOID)
    assert read_student_file(f, folder) == SIGMOID.encode()


def test_symlinked_exercise_file_is_refused(tmp_path):
    """A link is not graded, even to a file inside the folder (its target may change)."""
    folder = student(tmp_path)
    (folder / "copy.py").write_text(SIGMOID)
    (folder / "exercises" / "ex01_sigmoid.py").symlink_to(folder / "copy.py")
    assert_refused(grade_file("ex01", folder), "ex01_sigmoid.py", "symbolic link")


def test_hard_linked_exercise_file_is_refused(tmp_path):
    """A hard link inside the folder to a file elsewhere (st_nlink 2) is not graded."""
    folder = student(tmp_path)
    elsewhere = tmp_path / "other_student.py"
    elsewhere.write_text(SIGMOID)
    os.link(elsewhere, folder / "exercises" / "ex01_sigmoid.py")
    assert_refused(grade_file("ex01", folder), "ex01_sigmoid.py", "hard link")


def test_fifo_exercise_file_is_refused_without_blocking(tmp_path, alarm):
    """Opening a FIFO for reading blocks until a writer comes; the grader must not wait."""
    folder = student(tmp_path)
    os.mkfifo(folder / "exercises" / "ex01_sigmoid.py")
    assert_refused(grade_file("ex01", folder), "ex01_sigmoid.py", "FIFO")


def test_fifo_given_as_the_path_is_refused_without_blocking(tmp_path, alarm):
    fifo = tmp_path / "ex01_sigmoid.py"
    os.mkfifo(fifo)
    assert_refused(grade_file("ex01", fifo), "ex01_sigmoid.py", "FIFO")


def test_device_exercise_file_is_refused(tmp_path, alarm):
    """A character device (here /dev/zero's numbers: reading it never ends) is not read."""
    folder = student(tmp_path)
    dev = folder / "exercises" / "ex01_sigmoid.py"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o644, os.makedev(1, 5))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    assert_refused(grade_file("ex01", folder), "ex01_sigmoid.py", "character device")


def test_folder_resolving_outside_the_submission_is_refused(tmp_path):
    """``exercises/`` a link to a folder elsewhere: the file is regular but not inside."""
    folder = tmp_path / "student"
    folder.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "ex01_sigmoid.py").write_text(SIGMOID)
    (folder / "exercises").symlink_to(outside)
    assert_refused(grade_file("ex01", folder), "ex01_sigmoid.py", "outside the submission folder")


def test_symlinked_helper_module_is_refused(tmp_path):
    """The exercise file is regular but imports a helper that is a link to the solution."""
    folder = student(tmp_path)
    (folder / "exercises" / "ex01_sigmoid.py").write_text(
        "from helper import sigmoid, sigmoid_grad  # noqa\n")
    (folder / "sol.py").write_text(SIGMOID)
    (folder / "exercises" / "helper.py").symlink_to(folder / "sol.py")
    assert_refused(grade_file("ex01", folder), "helper.py", "symbolic link")


def test_fifo_in_a_helper_package_is_refused(tmp_path, alarm):
    folder = student(tmp_path)
    (folder / "exercises" / "ex01_sigmoid.py").write_text(
        "import mylib.core as core\nsigmoid = core.sigmoid\nsigmoid_grad = core.sigmoid_grad\n")
    (folder / "exercises" / "mylib").mkdir()
    (folder / "exercises" / "mylib" / "__init__.py").write_text("")
    os.mkfifo(folder / "exercises" / "mylib" / "core.py")
    assert_refused(grade_file("ex01", folder), "core.py", "FIFO")


def test_oversized_file_is_refused_before_it_is_read(tmp_path):
    folder = student(tmp_path)
    f = folder / "exercises" / "ex01_sigmoid.py"
    f.write_bytes(b"#" * 2000)
    with pytest.raises(Refused, match="2,000 bytes"):
        read_student_file(f, folder, limit=1000)
