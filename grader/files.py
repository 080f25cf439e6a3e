"""Files the grader reads from a student's folder and the report files it writes.

Only regular files physically inside the student's own folder are graded: the exercise's file and
the helper modules it imports from its folder. :func:`read_student_file` refuses a symbolic link, a
hard link (``st_nlink > 1``: the same inode reachable from elsewhere, e.g. another student's file
or a solution), a FIFO, a device or socket, and a path that resolves outside the folder, with one
line naming the path. It opens with ``O_NOFOLLOW | O_NONBLOCK`` and judges the opened descriptor
with ``fstat``, so a FIFO never blocks the grader and a file swapped for a link between the check
and the read is judged as what was opened.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

#: Largest student file (bytes) the grader reads: a source or notebook past it is refused before
#: it is read, so the grader never holds more than this per file. Notebooks with large saved
#: outputs (images) stay well under it; the static scan has its own, smaller, limit on source
#: text (:data:`grader.checks.static.MAX_SOURCE_CHARS`).
MAX_FILE_BYTES = 64 * 1024 * 1024

#: Most helper files (``.py`` files of the folder's imported modules and packages) checked per
#: exercise; past it the submission is refused (nothing honest imports hundreds of own modules).
MAX_HELPER_FILES = 200


class Refused(Exception):
    """A student's file the grader will not read; ``str()`` is the one-line message."""


def locate(exercise, path: str | os.PathLike) -> Path | None:
    """The student's file for ``exercise`` under ``path``.

    A path that is not a folder is used as is (whatever it is: :func:`read_student_file` then
    refuses what is not a regular file); in a folder, ``exercises/<module>`` is tried first, then
    ``<module>`` at its root, then the same two places for a notebook ``<module stem>.ipynb``
    (graded through :mod:`grader.notebook`), then ``<stem>/<stem>.ipynb`` (a student's folder in
    an nbgrader course's ``submitted/``). An entry that exists but is not a regular file (a
    symlink, a FIFO) is returned too, so that it is refused by name rather than reported missing.
    Returns None when none exists.
    """
    p = Path(path)
    if _exists(p) and not stat.S_ISDIR(os.lstat(p).st_mode):
        return p
    stem = Path(exercise.filename).stem
    notebook = f"{stem}.ipynb"
    for candidate in (p / "exercises" / exercise.filename, p / exercise.filename,
                      p / "exercises" / notebook, p / notebook, p / stem / notebook):
        if _exists(candidate) and not stat.S_ISDIR(os.lstat(candidate).st_mode):
            return candidate
    return None


def _exists(p: Path) -> bool:
    try:
        os.lstat(p)
        return True
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return False


def folder_of(path: str | os.PathLike, file: Path) -> Path:
    """The student's folder: ``path`` when it is a folder, else the folder ``file`` lies in."""
    p = Path(path)
    return p if p.is_dir() and not p.is_symlink() else file.parent


def read_student_file(file: str | os.PathLike, folder: str | os.PathLike,
                      limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the student's ``file``, which must be a regular file inside ``folder``.

    Args:
        file: the path to read. folder: the student's folder (:func:`folder_of`).
        limit: most bytes read (:data:`MAX_FILE_BYTES`).

    Returns:
        The file's bytes (any content: decoding is the caller's).

    Raises:
        Refused: a symbolic link, a hard link, not a regular file (FIFO, device, socket, folder),
            a path resolving outside ``folder``, larger than ``limit``, or unreadable; the message
            names the path.
    """
    name = str(file)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(file, flags)
    except (OSError, ValueError) as exc:
        if os.path.islink(file):
            raise Refused(f"{name}: refused: it is a symbolic link; submit the file itself, not a "
                          "link to it") from None
        raise Refused(f"{name}: cannot be read ({getattr(exc, 'strerror', exc)})") from None
    try:
        real, inside = os.path.realpath(file), os.path.realpath(folder)
        if os.path.commonpath([real, inside]) != inside:
            raise Refused(f"{name}: refused: it resolves to {real}, outside the submission "
                          f"folder {inside}; submit the file itself")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{name}: refused: it is {_kind(st.st_mode)}, not a regular file")
        if st.st_nlink > 1:
            raise Refused(f"{name}: refused: it is a hard link ({st.st_nlink} names for one file); "
                          "submit a file of your own (copy it)")
        if st.st_size > limit:
            raise Refused(f"{name}: refused: it has {st.st_size:,} bytes, past the {limit:,} "
                          "dlgrade reads")
        chunks, got = [], 0
        while got <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            raise Refused(f"{name}: refused: it grew past the {limit:,} bytes dlgrade reads")
        return b"".join(chunks)
    except OSError as exc:
        raise Refused(f"{name}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return "a special file"


_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\w+)|import[ \t]+([\w \t,.]+))", re.MULTILINE)


def check_helpers(source: str, file: Path, folder: Path) -> None:
    """Check, as :func:`read_student_file` does, every helper the student's module may import
    from its own folder: for each top-level name ``X`` the source imports (``import X``, ``from X
    import ...``), ``X.py`` and every ``.py`` file of a package ``X/`` next to ``file``.

    Raises:
        Refused: the first helper refused (naming it), or more than :data:`MAX_HELPER_FILES`.
    """
    names = set()
    for m in _IMPORT.finditer(source):
        if m.group(1):
            names.add(m.group(1))
        else:
            names.update(part.split()[0].split(".")[0] for part in m.group(2).split(",")
                         if part.split())
    todo: list[Path] = []
    here = file.parent
    for n in sorted(names):
        if _exists(here / f"{n}.py"):
            todo.append(here / f"{n}.py")
        pkg = here / n
        if _exists(pkg):
            if pkg.is_symlink() or not pkg.is_dir():
                todo.append(pkg)  # refused by read_student_file with its kind
                continue
            for root, dirs, files in os.walk(pkg):  # os.walk does not follow folder links
                todo.extend(Path(root) / d for d in dirs if os.path.islink(Path(root) / d))
                todo.extend(Path(root) / f for f in files if f.endswith(".py"))
                if len(todo) > MAX_HELPER_FILES:
                    raise Refused(f"{pkg}: refused: more than {MAX_HELPER_FILES} helper files")
    for helper in todo:
        read_student_file(helper, folder, limit=MAX_FILE_BYTES)


def write_report_file(path: str | os.PathLike, text: str) -> None:
    """Write a report file so that nothing a student process left at ``path`` redirects or
    blocks it: ``text`` goes to a new file beside ``path`` that then replaces whatever is there
    (a forged report, a symlink to elsewhere, a FIFO that would block the writer, a read-only
    file) in one atomic rename.

    Raises:
        OSError: the folder is not writable, or ``path`` is a folder.
    """
    import tempfile
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def clear_report_paths(paths) -> None:
    """Remove what a student process may have planted at report paths before reporters write
    them with a plain ``open(path, "w")``: a symlink (which the write would follow), a FIFO (which
    would block it) or a file made read-only. Folders are left (writing to them fails loudly);
    ``None`` and ``"-"`` are skipped."""
    for p in paths:
        if not p or p == "-":
            continue
        try:
            if not stat.S_ISDIR(os.lstat(p).st_mode):
                os.unlink(p)
        except OSError:
            pass
