"""Student folders, fingerprints and the grades CSV: what decides whether a student is graded
again, and the row each one gets. Shared by every executor (local processes, Slurm)."""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import os
import stat
from pathlib import Path

from grader import __version__
from grader.results import Report

#: Folder names never read for the fingerprint (version control, caches, editors).
IGNORED_DIRS = {".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache",
                ".ipynb_checkpoints", ".venv", "venv", "node_modules", ".idea", ".vscode"}
#: Files larger than this are fingerprinted by size and modification time instead of content.
HASH_CONTENT_LIMIT = 64 * 1024 * 1024
#: Longest error text per exercise in the CSV's ``errors`` cell.
ERROR_CELL_CHARS = 200
STATUSES = ("pass", "fail", "error", "grader-error")
#: Row statuses a re-run keeps (``grader-error`` rows are always graded again).
FINAL_STATUSES = ("pass", "fail", "error")


def discover(submissions: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """The student folders in ``submissions``: its sub-folders, sorted by name, except hidden
    ones (``.x``), ``_x`` ones and the paths in ``exclude`` (the batch's own output)."""
    skip = {p.resolve() for p in exclude}
    out = []
    for child in sorted(submissions.iterdir(), key=lambda p: p.name):
        if child.name.startswith((".", "_")) or not child.is_dir():
            continue
        if child.resolve() in skip:
            continue
        out.append(child)
    return out


def folder_hash(folder: Path) -> str:
    """SHA-256 (hex) of a folder's content: relative paths and bytes of its regular files.

    Symbolic links contribute their target text (never followed: a link to ``/dev/zero`` cannot
    stall the batch); FIFOs, sockets and devices contribute their type only; folders in
    :data:`IGNORED_DIRS` are left out; files over :data:`HASH_CONTENT_LIMIT` contribute size and
    mtime. Unreadable entries contribute the error's name, so the hash is always defined.
    """
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        rel_dir = os.path.relpath(dirpath, folder)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            h.update(b"\0F" + rel.encode("utf-8", "surrogateescape") + b"\0")
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    h.update(b"L" + os.readlink(path).encode("utf-8", "surrogateescape"))
                elif not stat.S_ISREG(st.st_mode):
                    h.update(b"S" + str(stat.S_IFMT(st.st_mode)).encode())
                elif st.st_size > HASH_CONTENT_LIMIT:
                    h.update(f"B{st.st_size}:{st.st_mtime_ns}".encode())
                else:
                    with open(path, "rb") as fh:
                        for chunk in iter(lambda: fh.read(1 << 20), b""):
                            h.update(chunk)
            except OSError as exc:
                h.update(b"E" + type(exc).__name__.encode())
        for d in dirnames:  # empty folders count too
            h.update(b"\0D" + os.path.join(rel_dir, d).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def fingerprint(folder: Path, opts) -> str:
    """:func:`folder_hash` combined with what else decides the grade: dlgrade's version, the
    exercises, device, perf and, when the course configuration changes anything, its points,
    thresholds, limits and devices. The first 32 hex digits.

    Args:
        folder: the student's folder.
        opts: the :class:`~grader.batch.spec.BatchOptions` (``exercises``, ``device``, ``perf``,
            ``course``).
    """
    h = hashlib.sha256()
    h.update(json.dumps({"v": __version__, "ex": [e.id for e in opts.exercises],
                         "device": opts.device, "perf": opts.perf}, sort_keys=True).encode())
    course = getattr(opts, "course", None)
    if course is not None and (course.points or course.performance or course.limits
                               or course.devices):
        h.update(json.dumps({"points": course.points, "performance": course.performance,
                             "limits": {k: repr(v) for k, v in course.limits.items()},
                             "devices": course.devices}, sort_keys=True).encode())
    h.update(folder_hash(folder).encode())
    return h.hexdigest()[:32]


def cell(text: str) -> str:
    """A text cell: neutralised, one line, not a spreadsheet formula."""
    from grader.report.terminal import neutralise
    text = neutralise(str(text)).replace("\n", " | ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text


def columns(exercises) -> list[str]:
    """The CSV header for ``exercises``."""
    return (["student", "status", "score", "max_score"] + [e.id for e in exercises]
            + ["checks_passed", "checks_not_passed", "errors", "seed", "fingerprint", "report",
               "graded_at", "duration_s", "dlgrade_version"])


def row_for(student: str, report: Report, fp: str, report_path: str, duration_s: float) -> dict:
    """The CSV row of one student's :class:`Report`.

    ``status``: ``grader-error`` when the report has internal errors, else ``error`` when some
    check is ``error``, else ``pass`` (every check passed or skipped) or ``fail``.
    """
    checks = [c for e in report.exercises for c in e.checks]
    errors = []
    for ex in report.exercises:
        bad = [c for c in ex.checks if c.status == "error"]
        if bad:
            first = bad[0].message.split("\n  reproduce: ")[0].split("\n")[0]
            if len(first) > ERROR_CELL_CHARS:
                first = first[: ERROR_CELL_CHARS - 1] + "…"
            errors.append(f"{ex.id}: {first}")
    if report.internal_errors:
        status = "grader-error"
    elif any(c.status == "error" for c in checks):
        status = "error"
    elif report.passed:
        status = "pass"
    else:
        status = "fail"
    row = {"student": cell(student), "status": status, "score": f"{report.score:g}",
           "max_score": f"{report.max_score:g}"}
    for ex in report.exercises:
        row[ex.id] = f"{ex.score:g}"
    row.update({"checks_passed": sum(c.status == "pass" for c in checks),
                "checks_not_passed": sum(c.status in ("fail", "error") for c in checks),
                "errors": cell("; ".join(errors)), "seed": report.seed, "fingerprint": fp,
                "report": report_path,
                "graded_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
                "duration_s": f"{duration_s:.2f}", "dlgrade_version": __version__})
    return row


def read_rows(csv_path: Path) -> dict[str, dict]:
    """Rows of an existing grades CSV by student (empty when absent or unreadable); rows cut
    short by an interruption are dropped (their student is graded again)."""
    if not csv_path.is_file():
        return {}
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = {}
            for r in reader:
                if None in r.values() or None in r or len(r) != len(header):
                    continue
                rows[r["student"]] = r
            return rows
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}


def write_atomic(path: Path, header: list[str], rows: list[dict]) -> None:
    """Write a whole CSV (header and ``rows``) through a temporary file and one rename."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
