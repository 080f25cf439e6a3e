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


def test_writes_outside_the_scratch_folder_are_refused(tmp_path):
    if not _landlock_abi():
        pytest.skip("no Landlock in this kernel (Linux < 5.13 or disabled)")
    repo = tmp_path / "repo"
    repo.mkdir()
    files = {repo / "dlgrade.toml": b"[limits]\n", repo / "pyproject.toml": b"[project]\n",
             repo / "ex02_backprop.py": b"def later():\n    pass\n",
             tmp_path / "github_env": b"", tmp_path / "report.json": b"{}"}
    for f, data in files.items():
        f.write_bytes(data)
    student = _student(repo, "ex01_sigmoid.py",
                       ESCAPE.replace("TARGETS", repr([str(f) for f in files])))
    # run_as="": the student keeps the grader's user, who may write all these files itself.
    proc = StudentProcess(str(student), "numpy", limits=Limits(call_timeout_s=20, budget_s=40,
                                                               run_as="", confine_writes=True))
    proc.start()
    try:
        out = _call(proc, "attempts")
    finally:
        proc.close()
    assert set(out.values()) == {"PermissionError"}, out
    for f, data in files.items():
        assert f.read_bytes() == data, f
    assert not any(Path(p).exists() for p in out if p.endswith((".pth", ".pyc")))


def _landlock_abi() -> int:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(0, libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


def test_a_course_turns_write_confinement_on_in_its_configuration(tmp_path):
    from grader import config
    course = tmp_path / "dlgrade.toml"
    course.write_text("[limits]\nconfine_writes = true\n")
    assert all(lim.confine_writes for lim in config.load(course).limits.values())
    course.write_text("[limits]\nconfine_writes = 1\n")
    with pytest.raises(config.ConfigError, match="confine_writes must be true or false"):
        config.load(course)
    assert not any(lim.confine_writes for lim in config.load(None).limits.values())
