"""Class 1 and 2 of docs/security.md: what a student process inherits and may change.

Each test starts real student processes through :class:`grader.runner.process.StudentProcess`
and asks them, from inside, what they can see or do; each would fail if its defence were removed.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.runner import process
from grader.runner.process import Limits, StudentProcess

LIMITS = Limits(call_timeout_s=20, budget_s=40)

#: A student module whose ``look`` reports the environment both as Python sees it and as the
#: kernel holds it (the block the process was executed with), and the working directory.
ENV_SPY = r'''
import json, os


def look():
    with open("/proc/self/environ", "rb") as fh:
        raw = fh.read().decode("utf-8", "replace")
    return json.dumps({"environ": dict(os.environ), "raw": raw, "cwd": os.getcwd()})
'''


def _student(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(tmp_path, 0o755)
    os.chmod(path, 0o644)
    return path


def _call(proc: StudentProcess, fn: str):
    (res,) = proc.calls_batch([{"fn": fn, "args": [], "kwargs": {}}])
    assert res["ok"], res
    return res["value"]


@pytest.fixture
def ci_secrets(monkeypatch, tmp_path):
    """The grader runs with CI variables and a token set, and a fork server started after that."""
    secret = "s3cr3t-" + os.urandom(6).hex()
    monkeypatch.setenv("GITHUB_ENV", str(tmp_path / "github_env"))
    monkeypatch.setenv("GITHUB_TOKEN", secret)
    monkeypatch.setenv("CI_JOB_TOKEN", secret)
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    process._end_fork_server()  # the next student process starts a fork server under these
    process._started.clear()
    yield secret
    process._end_fork_server()
    process._started.clear()


def test_student_sees_only_the_environment_the_grader_built(tmp_path, ci_secrets):
    # run_as="": the student keeps the grader's user, so it may read its own /proc/self/environ.
    proc = StudentProcess(str(_student(tmp_path, "ex01_sigmoid.py", ENV_SPY)), "numpy",
                          limits=Limits(call_timeout_s=20, budget_s=40, run_as=""))
    proc.start()
    try:
        seen = json.loads(_call(proc, "look"))
        scratch = proc._sandbox
    finally:
        proc.close()
    env = seen["environ"]
    assert ci_secrets not in json.dumps(env) and ci_secrets not in seen["raw"]
    for name in ("GITHUB_ENV", "GITHUB_TOKEN", "CI_JOB_TOKEN", "RUNNER_TEMP", "PYTHONPATH"):
        assert name not in env, name
        assert name + "=" not in seen["raw"], name
    from grader.runner import confine
    allowed = set(confine.PASSED) | set(confine.THREAD_VARS) | set(confine.FIXED) | {"HOME", "TMPDIR"}
    assert set(env) <= allowed | {k for k in env if k.startswith("LC_")}, set(env) - allowed
    assert env["PYTHONNOUSERSITE"] == "1" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["OMP_NUM_THREADS"] == "1"
    assert env["HOME"] == env["TMPDIR"] == seen["cwd"] == scratch
    assert os.environ["GITHUB_TOKEN"] == ci_secrets  # the grader's own environment is restored


WRITER = r'''
import os
open("left_behind.txt", "w").write("x")
os.makedirs(os.path.join(os.environ["HOME"], ".config"), exist_ok=True)
open(os.path.join(os.environ["TMPDIR"], "tmp_note.txt"), "w").write("y")


def where():
    return os.getcwd()
'''


def test_writes_into_the_scratch_folder_do_not_survive(tmp_path):
    proc = StudentProcess(str(_student(tmp_path, "ex01_sigmoid.py", WRITER)), "numpy",
                          limits=LIMITS)
    proc.start()
    where = _call(proc, "where")
    assert where == proc._sandbox and Path(where, "left_behind.txt").exists()
    assert Path(where) != Path.cwd() and not Path(where).is_relative_to(tmp_path)
    proc.close()
    assert not os.path.exists(where)
    # A second process of the same student gets a different, fresh folder.
    proc.start()
    try:
        again = _call(proc, "where")
        assert again != where
        assert sorted(os.listdir(again)) == [".config", "left_behind.txt", "tmp_note.txt"]
    finally:
        proc.close()
    assert not os.path.exists(again)


ESCAPE = r'''
import os, site, sys


def attempts():
    targets = TARGETS + [os.path.join(site.getsitepackages()[0], "zz_dlgrade_escape.pth"),
                         os.path.join(os.path.dirname(os.__file__), "__pycache__", "zz_escape.pyc")]
    out = {}
    for path in targets:
        try:
            with open(path, "a") as fh:
                fh.write("import os; os.system('touch /tmp/owned')\n")
            out[path] = "written"
        except OSError as exc:
            out[path] = type(exc).__name__
    return out
'''


#: The grader's own user for the student (``run_as=""``): only Landlock stands between the
#: student and every file that user may write. Writes stay confined by default.
SAME_USER = Limits(call_timeout_s=20, budget_s=40, run_as="")


def _needs_landlock():
    if not _landlock_abi():
        pytest.skip("no Landlock in this kernel (Linux < 5.13 or disabled)")


def _run_student(path: Path, fn: str = "attempts", limits: Limits = SAME_USER):
    proc = StudentProcess(str(path), "numpy", limits=limits)
    proc.start()
    try:
        return _call(proc, fn)
    finally:
        proc.close()


def ESCAPE_PLANTS() -> list[Path]:
    """The two files ESCAPE plants in this Python installation (if it can)."""
    import site
    return [Path(site.getsitepackages()[0], "zz_dlgrade_escape.pth"),
            Path(os.path.dirname(os.__file__), "__pycache__", "zz_escape.pyc")]


def test_writes_outside_the_scratch_folder_are_refused(tmp_path):
    _needs_landlock()
    assert Limits().confine_writes  # the default
    repo = tmp_path / "repo"
    repo.mkdir()
    files = {repo / "dlgrade.toml": b"[limits]\n", repo / "pyproject.toml": b"[project]\n",
             repo / "ex02_backprop.py": b"def later():\n    pass\n",
             tmp_path / "github_env": b"", tmp_path / "report.json": b"{}"}
    for f, data in files.items():
        f.write_bytes(data)
    student = _student(repo, "ex01_sigmoid.py",
                       ESCAPE.replace("TARGETS", repr([str(f) for f in files])))
    try:
        out = _run_student(student)
    finally:  # never leave a payload in this environment, whatever happened
        planted = [p for p in ESCAPE_PLANTS() if p.exists()]
        for p in planted:
            p.unlink()
    assert set(out.values()) == {"PermissionError"}, out
    for f, data in files.items():
        assert f.read_bytes() == data, f
    assert planted == []


CI_WRITER = r'''
import os


def attempts():
    """Append to the files a GitHub runner reads after this step (the paths guessed)."""
    lines = {"GITHUB_ENV": "PYTHONPATH=/tmp/evil\nLD_PRELOAD=/tmp/evil.so\n",
             "GITHUB_PATH": "/tmp/evil-bin\n",
             "GITHUB_OUTPUT": "score=100\n",
             "GITHUB_STEP_SUMMARY": "## 100 / 100 points\n"}
    out = {}
    for name, text in lines.items():
        try:
            with open(CI[name], "a") as fh:
                fh.write(text)
            out[name] = "written"
        except OSError as exc:
            out[name] = type(exc).__name__
    return out
'''


def _runner_env_file(path: Path) -> dict:
    """KEY=VALUE lines of a $GITHUB_ENV-style file, as the runner reads them for later steps."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_ci_files_written_by_the_student_do_not_reach_a_later_step(tmp_path):
    _needs_landlock()
    ci = tmp_path / "_runner_file_commands"
    ci.mkdir()
    paths = {name: ci / name.lower() for name in
             ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for p in paths.values():
        p.write_text("")
    student = _student(tmp_path, "ex01_sigmoid.py",
                       f"CI = {({k: str(v) for k, v in paths.items()})!r}\n" + CI_WRITER)
    out = _run_student(student)
    assert set(out.values()) == {"PermissionError"}, out
    # The later step: what the runner would export, prepend to PATH, output and summarise.
    assert _runner_env_file(paths["GITHUB_ENV"]) == {}
    assert all(p.read_text() == "" for p in paths.values())


PY_ENV_WRITER = r'''
import importlib.util, marshal, os, struct


def attempts():
    """Plant code that a later step's Python runs: a .pth and sitecustomize in site-packages,
    and a forged bytecode cache for a module the later step imports (its header matches the
    real source, so the interpreter would trust it)."""
    payload = f"import os; open({MARKER!r}, 'w').write('ran')"
    out = {}
    src = os.path.join(LIB, "helper.py")
    st = os.stat(src)
    pyc = importlib.util.cache_from_source(src)
    code = compile(payload + "\nVALUE = 'forged'\n", src, "exec")
    forged = importlib.util.MAGIC_NUMBER + struct.pack("<III", 0, int(st.st_mtime) & 0xFFFFFFFF,
                                                      st.st_size & 0xFFFFFFFF) + marshal.dumps(code)
    targets = {os.path.join(SITE, NAME + ".pth"): payload + "\n",
               os.path.join(SITE, "sitecustomize.py"): payload + "\n",
               pyc: forged}
    for path, data in targets.items():
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data.encode() if isinstance(data, str) else data)
            out[path] = "written"
        except OSError as exc:
            out[path] = type(exc).__name__
    return out
'''


def test_python_environment_changes_do_not_reach_a_later_step(tmp_path):
    """A .pth or sitecustomize in site-packages, a forged __pycache__ entry: the next Python of
    the job would run them. They are refused, and the later step runs clean."""
    _needs_landlock()
    import subprocess
    import sys
    import sysconfig
    import uuid
    site = sysconfig.get_paths()["purelib"]
    name = "zz_dlgrade_escape_" + uuid.uuid4().hex[:8]
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "helper.py").write_text("VALUE = 'genuine'\n")
    marker = tmp_path / "payload_ran"
    student = _student(tmp_path, "ex01_sigmoid.py",
                       f"SITE, NAME, LIB, MARKER = {site!r}, {name!r}, {str(lib)!r}, "
                       f"{str(marker)!r}\n" + PY_ENV_WRITER)
    planted = [Path(site, name + ".pth"), Path(site, "sitecustomize.py")]
    existed = {p: p.exists() for p in planted}
    try:
        out = _run_student(student)
        later = subprocess.run([sys.executable, "-c", "import helper; print(helper.VALUE)"],
                               capture_output=True, text=True, timeout=60,
                               env={**os.environ, "PYTHONPATH": str(lib)})
    finally:  # never leave a payload in this environment, whatever happened
        for p in planted:
            if p.exists() and not existed[p]:
                p.unlink()
    assert set(out.values()) == {"PermissionError"}, out
    assert later.stdout.strip() == "genuine", later.stdout + later.stderr
    assert not marker.exists(), "the planted code ran in a later step"


CONFIG_WRITER = r'''
import os


def attempts():
    """Give the course's checks the points it wants, and replace a later exercise's file."""
    out = {}
    for path, text in ((COURSE, "[exercises.ex02]\npoints = { affine_forward_values = 0 }\n"),
                       (LATER, "def affine_forward(x, w, b):\n    return 'forged'\n")):
        try:
            with open(path, "w") as fh:
                fh.write(text)
            out[path] = "written"
        except OSError as exc:
            out[path] = type(exc).__name__
    return out
'''


def test_course_configuration_and_a_later_exercise_are_unchanged(tmp_path):
    """The graded folder's dlgrade.toml and the next exercise's file, rewritten by ex01's student
    process: refused; the later exercise is then graded from the student's genuine file."""
    _needs_landlock()
    from conftest import ROOT
    from grader import config
    from grader.engine import Options, grade_exercise
    from grader.exercises import resolve
    repo = tmp_path / "repo"
    (repo / "exercises").mkdir(parents=True)
    course = repo / "dlgrade.toml"
    course.write_text("[limits]\ncall_timeout_s = 30\n")
    later = repo / "exercises" / "ex02_backprop.py"
    later.write_bytes((ROOT / "solutions" / "ex02_backprop.py").read_bytes())
    before = {p: p.read_bytes() for p in (course, later)}
    student = _student(repo / "exercises", "ex01_sigmoid.py",
                       f"COURSE, LATER = {str(course)!r}, {str(later)!r}\n" + CONFIG_WRITER)
    out = _run_student(student)
    assert set(out.values()) == {"PermissionError"}, out
    assert {p: p.read_bytes() for p in before} == before
    assert config.load(course).limits["ex02"].call_timeout_s == 30
    result = grade_exercise(resolve("ex02"), repo, Options(seed=1, perf=False, limits=SAME_USER))
    assert result.score == result.max_score > 0


def test_no_landlock_fails_closed(tmp_path, monkeypatch):
    """Where the kernel has no Landlock, no student code runs: every check is an error with the
    one documented line (and a course that opts out is graded as before)."""
    from conftest import ROOT
    from grader import engine
    from grader.exercises import resolve
    from grader.runner import confine
    monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
    result = engine.grade_exercise(resolve("ex01"), ROOT / "solutions",
                                   engine.Options(seed=1, perf=False, limits=SAME_USER))
    assert result.score == 0
    messages = {c.name: (c.status, c.message) for c in result.checks}
    assert messages["sigmoid_values"][0] == "error", messages
    assert messages["sigmoid_values"][1].startswith(confine.NO_LANDLOCK), messages
    assert "confine_writes = false" in confine.NO_LANDLOCK
    import dataclasses
    opted_out = dataclasses.replace(SAME_USER, confine_writes=False)
    result = engine.grade_exercise(resolve("ex01"), ROOT / "solutions",
                                   engine.Options(seed=1, perf=False, limits=opted_out))
    assert result.score == result.max_score


def _landlock_abi() -> int:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(0, libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


def test_a_course_turns_write_confinement_off_in_its_configuration(tmp_path):
    from grader import config
    course = tmp_path / "dlgrade.toml"
    course.write_text("[limits]\nconfine_writes = false\n")
    assert not any(lim.confine_writes for lim in config.load(course).limits.values())
    course.write_text("[limits]\nconfine_writes = 1\n")
    with pytest.raises(config.ConfigError, match="confine_writes must be true or false"):
        config.load(course)
    assert all(lim.confine_writes for lim in config.load(None).limits.values())
