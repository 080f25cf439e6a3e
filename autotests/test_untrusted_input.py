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


# -- class 3: anything a student controls, through the real command and every report -----------
HOSTILE = Path(__file__).parent / "hostile" / "untrusted"
SECOND = (ROOT / "solutions" / "ex02_backprop.py").read_text()


def _deep(n: int) -> bytes:
    return b"def sigmoid(z):\n    return " + b"(" * n + b"z" + b")" * n + b"\n"


#: name -> bytes of ex01_sigmoid.py (any content).
BYTES = {
    "invalid_utf8": SIGMOID.encode() + b"\n# \xff\xfe\xc3\x28 \xed\xa0\x80\n",
    "nul_bytes": SIGMOID.encode().replace(b"def sigmoid_grad", b"\x00def sigmoid_grad"),
    "five_megabytes": SIGMOID.encode() + b"\n" + (b"# padding " + b"x" * 90 + b"\n") * 52_000,
    "deep_nesting": _deep(100_000),
}

#: name -> text of ex01_sigmoid.ipynb (notebook JSON of any shape).
_CELL = '{"cell_type": "code", "metadata": {}, "source": %s, "outputs": %s}'
NOTEBOOKS = {
    "not_an_object": "[1, 2, 3]",
    "cells_not_a_list": '{"cells": 5, "nbformat": 4}',
    "source_a_number": '{"cells": [%s], "nbformat": 4}' % (_CELL % ("12345", "[]")),
    "worksheets_cells_a_number": '{"worksheets": [{"cells": 7}], "nbformat": 3}',
    "deep_json": '{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}",
    "lone_surrogate_source": '{"cells": [%s], "nbformat": 4}' % (
        _CELL % ('"def sigmoid(z):\\n    return \\"\\ud800\\"\\n"', "[]")),
    "ten_megabyte_outputs": '{"cells": [%s], "nbformat": 4}' % (_CELL % (
        __import__("json").dumps(SIGMOID), '[{"output_type": "stream", "name": "stdout", '
        '"text": "%s"}]' % ("y" * 10_000_000))),
}


def run_all_reports(tmp_path: Path, folder: Path):
    """``dlgrade check ex01 ex02`` writing every report; returns (result, reports dict)."""
    import subprocess
    import sys
    work = tmp_path / "work"
    work.mkdir()
    (work / "dlgrade.toml").write_text("[limits]\ncall_timeout_s = 5\nbudget_s = 20\n")
    out = {k: work / f"report.{k}" for k in ("json", "xml", "gs.json", "md")}
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120", GITHUB_STEP_SUMMARY=str(out["md"]),
               GITHUB_ACTIONS="true")
    r = subprocess.run([sys.executable, "-m", "grader.cli", "check", "ex01", "ex02", "--path",
                        str(folder), "--seed", "5", "--no-perf", "--json", str(out["json"]),
                        "--junit-xml", str(out["xml"]), "--gradescope", str(out["gs.json"])],
                       capture_output=True, cwd=work, env=env, timeout=300)
    return r, out


def assert_contained(r, out, ex01_honest: bool = False) -> None:
    """ex01 ends as fail/error (or, ``ex01_honest``, full marks), ex02 (honest) full marks, exit 1
    (0); every report valid and bounded."""
    import json
    import xml.etree.ElementTree as ET
    stdout = r.stdout.decode("utf-8")  # the terminal report is valid UTF-8 ...
    assert r.returncode == (0 if ex01_honest else 1), (r.returncode, r.stderr[-3000:])
    assert "\x1b" not in stdout and "\x00" not in stdout  # ... with no terminal escapes
    assert len(stdout) < 200_000, len(stdout)
    report = json.loads(out["json"].read_text(encoding="utf-8"))
    ex = {e["id"]: e for e in report["exercises"]}
    assert ex["ex02"]["score"] == ex["ex02"]["max_score"] > 0
    ran = [c for c in ex["ex01"]["checks"] if c["status"] != "skip"]
    if ex01_honest:
        assert ex["ex01"]["score"] == ex["ex01"]["max_score"] > 0
    else:
        assert ex["ex01"]["score"] == 0
        assert ran and {c["status"] for c in ran} <= {"fail", "error"}
    assert all(len(c["message"]) < 70_000 for c in ran), max(len(c["message"]) for c in ran)
    ET.fromstring(out["xml"].read_bytes())
    gs = json.loads(out["gs.json"].read_text(encoding="utf-8"))
    assert gs["score"] == report["score"]
    md = out["md"].read_text(encoding="utf-8")
    assert "<script>" not in md and "\x1b" not in md and "ex02" in md


@pytest.mark.parametrize("name", sorted(BYTES))
def test_file_bytes_of_any_content(tmp_path, name):
    folder = student(tmp_path)
    (folder / "exercises" / "ex01_sigmoid.py").write_bytes(BYTES[name])
    (folder / "exercises" / "ex02_backprop.py").write_text(SECOND)
    assert_contained(*run_all_reports(tmp_path, folder))


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_json_of_any_shape(tmp_path, name):
    folder = student(tmp_path)
    (folder / "exercises" / "ex01_sigmoid.ipynb").write_text(NOTEBOOKS[name])
    (folder / "exercises" / "ex02_backprop.py").write_text(SECOND)
    # Saved outputs are not code: an honest notebook with 10 MB of them is graded as usual.
    assert_contained(*run_all_reports(tmp_path, folder), ex01_honest=name == "ten_megabyte_outputs")


@pytest.mark.parametrize("name", sorted(p.stem for p in HOSTILE.glob("*.py")))
def test_returned_values_and_messages_of_any_kind(tmp_path, name):
    folder = student(tmp_path)
    (folder / "exercises" / "ex01_sigmoid.py").write_text((HOSTILE / f"{name}.py").read_text())
    (folder / "exercises" / "ex02_backprop.py").write_text(SECOND)
    assert_contained(*run_all_reports(tmp_path, folder))


# -- class 3: what the grader decodes from the student process ---------------------------------
def _message(header: str, payload: bytes = b"") -> bytes:
    import struct
    raw = header.encode()
    return struct.pack("<Q", len(raw)) + raw + payload


@pytest.mark.parametrize("header, payload", [
    ('{"$int": "%s"}' % ("9" * 100_000), b""),                      # str->int past 4,300 digits
    ("9" * 100_000, b""),                                          # the same as a JSON number
    ("[" * 100_000 + "]" * 100_000, b""),                          # past the recursion limit
    ('{"$tuple": ' + "[" * 50_000 + "]" * 50_000 + "}", b""),
    ('{"$nd": 0, "dtype": "<f8", "shape": [4294967296, 4294967296, 4294967296]}', b""),
    ('[%s]' % ",".join(["0"] * 2_200_000), b""),                  # a header past MAX_HEADER_BYTES
], ids=["huge_int_str", "huge_int_json", "deep_list", "deep_tuple", "shape_overflow", "big_header"])
def test_codec_refuses_what_would_cost_the_grader(header, payload):
    """Each is a CodecError (a malformed message: that check's ``error``), never another
    exception that would end the grader, nor an unbounded allocation."""
    from grader.runner.codec import CodecError, decode
    with pytest.raises(CodecError):
        decode(_message(header, payload))


def test_codec_decodes_an_honest_array_message():
    """Control: a well-formed message still decodes."""
    import numpy as np
    from grader.runner.codec import decode, encode
    out = decode(encode((np.arange(6.0).reshape(2, 3), 3, "x")))
    assert out[0].shape == (2, 3) and out[1:] == (3, "x")


def test_documented_grader_limits_match_the_code():
    """docs/security.md's table of the grader's own limits names real constants and values."""
    import importlib
    import re
    text = (ROOT / "docs" / "security.md").read_text()
    rows = re.findall(r"^\| `(grader\.[\w.]+)\.([A-Z_]+)` \| ([^|]+) \|", text, flags=re.M)
    assert len(rows) == 6, rows
    units = {"MiB": 1024 ** 2}
    for module, name, shown in rows:
        value = getattr(importlib.import_module(module), name)
        number, _, unit = shown.strip().partition(" ")
        assert int(number.replace(",", "")) * units.get(unit, 1) == value, (name, shown)


# -- a batch with one hostile student of each kind ---------------------------------------------
def test_batch_with_hostile_students_writes_every_row_and_report(tmp_path, alarm):
    """grade-batch over honest students and one student per hostile kind above: every student has
    a CSV row and a per-student JSON report that parses; the honest ones get full marks and each
    hostile one 0 (fail/error of its own checks)."""
    import csv
    import json
    from grader.batch import BatchOptions, run_batch
    from grader.exercises import resolve
    from grader.runner.process import Limits
    from rich.console import Console
    subs = tmp_path / "subs"

    def make(name: str) -> Path:
        (subs / name / "exercises").mkdir(parents=True)
        return subs / name / "exercises" / "ex01_sigmoid.py"

    make("a_honest").write_text(SIGMOID)
    make("z_honest").write_text(SIGMOID)
    hostile = []
    for name, data in BYTES.items():
        make(f"h_bytes_{name}").write_bytes(data)
        hostile.append(f"h_bytes_{name}")
    for name in ("deep_json", "worksheets_cells_a_number", "lone_surrogate_source"):
        nb = make(f"h_nb_{name}").with_suffix(".ipynb")
        nb.write_text(NOTEBOOKS[name])
        hostile.append(f"h_nb_{name}")
    for p in sorted(HOSTILE.glob("*.py")):
        make(f"h_{p.stem}").write_text(p.read_text())
        hostile.append(f"h_{p.stem}")
    (tmp_path / "other.py").write_text(SIGMOID)
    make("h_symlink").symlink_to(tmp_path / "other.py")
    os.link(tmp_path / "other.py", make("h_hardlink"))
    os.mkfifo(make("h_fifo"))
    hostile += ["h_symlink", "h_hardlink", "h_fifo"]
    opts = BatchOptions(exercises=[resolve("ex01")], seed=7, seed_given=True, jobs=2,
                        limits=Limits(call_timeout_s=2.0, budget_s=6.0), perf=False)
    with open(tmp_path / "log.txt", "w") as fh:
        run_batch(subs, tmp_path / "grades.csv", opts,
                  console=Console(file=fh, width=200, force_terminal=False))
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == sorted(["a_honest", "z_honest", *hostile])
    for name, row in rows.items():
        data = json.loads((tmp_path / row["report"]).read_text(encoding="utf-8"))
        assert data["student"] == name and f"{data['score']:g}" == row["score"]
        expected = data["max_score"] if name.endswith("_honest") else 0
        assert data["score"] == expected > 0 or data["score"] == expected == 0, (name, row)


def test_messages_are_bounded_in_every_report_and_on_the_terminal():
    """The worker cuts exception messages at 2,000 characters, but a student who patches it sends
    any length: the result keeps at most MAX_MESSAGE_CHARS, the terminal TERMINAL_MESSAGE_CHARS,
    each with a note, and a lone surrogate never reaches a report."""
    import io
    from rich.console import Console
    from grader.engine import _result
    from grader.exercises import resolve
    from grader.report.terminal import print_report
    from grader.report.text import MAX_MESSAGE_CHARS, TERMINAL_MESSAGE_CHARS
    from grader.results import ExerciseResult, Report
    ex = resolve("ex01")
    res = _result(ex.checks[0], "error", "\ud800" + "m" * 1_000_000, output="o" * 1_000_000)
    assert len(res.message) < MAX_MESSAGE_CHARS + 100 and "cut by dlgrade" in res.message
    assert len(res.output) < MAX_MESSAGE_CHARS + 100 and "\ud800" not in res.message
    report = Report(seed=1, device="cpu", exercises=[ExerciseResult(ex.id, ex.slug, "x", [res])])
    buf = io.StringIO()
    print_report(report, Console(file=buf, width=5000, force_terminal=False))
    assert buf.getvalue().count("m") < TERMINAL_MESSAGE_CHARS + 200
    assert "see the JSON report" in buf.getvalue()


@pytest.mark.parametrize("returned", ["10**4000", "(10**4000,) * 4"], ids=["int", "tuple"])
@pytest.mark.parametrize("exercise_id", [f"ex{i:02d}" for i in range(1, 14)])
def test_integers_beyond_float64_are_the_students_failure(tmp_path, exercise_id, returned):
    """Regression (class 3): every function of the exercise returns a Python int of 13,288 bits
    (or a tuple of them); ex12's float conversion and the performance recheck raised
    OverflowError, an internal grader error. Each check now fails or errs as the student's own,
    with no internal error, and the exercise still has its result."""
    from grader.exercises import resolve
    exercise = resolve(exercise_id)
    (tmp_path / exercise.filename).write_text("".join(
        f"def {fn}(*args, **kwargs):\n    return {returned}\n\n" for fn in exercise.functions))
    result = grade_file(exercise_id, tmp_path)
    assert result.score == 0 and result.checks
    for c in result.checks:
        assert c.status in ("fail", "error", "skip"), (c.name, c.status)
        assert "internal grader error" not in c.message, (c.name, c.message[:300])
