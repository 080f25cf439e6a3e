"""The isolation boundary itself: what a student process holds and may do, the static scan's
tampering rules, the fail-closed rules of the engine, and what happens when the grader dies.

The hostile submissions (test_hostile.py) show each trick failing end to end; these tests show
the mechanisms they run into, each against a control that proves the test could see a failure.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import psutil
import pytest

from conftest import ROOT

from test_hostile import student_runs_as_other_user

#: A student module that surveys its own process at import and writes what it finds to a file.
SURVEY = r'''
import ctypes, gc, json, os, resource, sys


def survey():
    """What this process holds and may do (also run in the grader's process, as a control)."""
    def is_oracle(o):
        try:
            mod, name = getattr(o, "__module__", ""), getattr(o, "__name__", "")
            return callable(o) and isinstance(mod, str) and isinstance(name, str) and (
                mod.startswith(("grader.exercises", "grader.checks", "solutions"))
                or name.startswith("oracle"))
        except Exception:  # an object of someone else's that objects to being looked at
            return False
    frames, f = [], sys._getframe()
    while f is not None:
        frames.append(f.f_code.co_filename)
        f = f.f_back
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    sig = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
    try:
        solutions = os.listdir(SOLUTIONS)
    except OSError as exc:
        solutions = type(exc).__name__
    return {
        "uid": list(os.getresuid()), "gid": list(os.getresgid()), "groups": os.getgroups(),
        "cwd": os.getcwd(), "home": os.environ.get("HOME"), "tmpdir": os.environ.get("TMPDIR"),
        "limits": {n: resource.getrlimit(getattr(resource, "RLIMIT_" + n))[0]
                   for n in ("AS", "FSIZE", "CPU", "NPROC", "CORE")},
        "no_new_privs": status.get("NoNewPrivs", "").strip(),
        "pdeathsig": sig.value,
        "grader_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("grader", "solutions")),
        "front_end_modules": sorted(m for m in sys.modules
                                    if m.split(".")[0] in ("click", "rich", "_pytest", "pytest")),
        "main_file": getattr(sys.modules["__main__"], "__file__", None),
        "oracles": sorted({getattr(o, "__qualname__", "?") for o in gc.get_objects() if is_oracle(o)}),
        "frames": sorted(set(frames)),
        "solutions": solutions,
        "sid_is_pid": os.getsid(0) == os.getpid(),
    }


if __name__ != "__main__" and __name__ != "boundary_control":
    with open(OUT, "w") as fh:
        json.dump(survey(), fh)


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
'''


def _survey_module(tmp: Path, out: Path) -> Path:
    student = tmp / "ex01_sigmoid.py"
    student.write_text(f"SOLUTIONS = {str(ROOT / 'solutions')!r}\nOUT = {str(out)!r}\n" + SURVEY)
    os.chmod(tmp, 0o755)
    os.chmod(student, 0o644)
    return student


@pytest.fixture(scope="module")
def surveyed():
    """The survey as the student process saw it (one real StudentProcess)."""
    from grader.runner.process import Limits, StudentProcess
    tmp = Path(tempfile.mkdtemp(prefix="dlgrade-survey-"))
    shared = tmp / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    limits = Limits(call_timeout_s=10, budget_s=20, writable_extra=(str(shared),))
    proc = StudentProcess(str(_survey_module(tmp, shared / "survey.json")), "numpy",
                          blocked=("torch", "scipy"), limits=limits)
    proc.start()
    sandbox = proc._sandbox
    pid = proc.proc.pid
    try:
        yield json.loads((shared / "survey.json").read_text()), limits, sandbox, pid
    finally:
        proc.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_student_process_holds_no_oracle_and_no_grader_state(surveyed):
    facts, *_ = surveyed
    # Only the runner is loaded: no exercise spec, check, engine or solution.
    allowed = {"grader.runner", "grader.runner.worker", "grader.runner.codec", "grader.runner.timing",
               "grader.runner.guard", "grader.runner.confine", "grader.runner.sandbox"}
    assert set(facts["grader_modules"]) <= allowed, facts["grader_modules"]
    assert facts["oracles"] == []
    # multiprocessing re-imports the parent's __main__ in every child unless it is hidden while
    # the child starts (process._main_module_hidden): here that would be pytest (for `dlgrade`,
    # the command line with click and rich), 0.1-0.2 s per student process.
    assert facts["front_end_modules"] == [], facts["front_end_modules"]
    assert facts["main_file"] is None, facts["main_file"]
    # Its stack at import: the student's file, the worker and multiprocessing's start-up - none of
    # the grader's frames (the grader's stack lives in another process).
    grader_frames = [f for f in facts["frames"] if "/grader/" in f and "/grader/runner/" not in f]
    assert grader_frames == []


def test_the_survey_would_see_an_oracle_in_the_graders_process():
    """Control: the same survey in the grader's process finds the oracles and grader modules."""
    import grader.exercises.ex01_sigmoid  # noqa: F401 - the grader has its specs loaded
    namespace = {"SOLUTIONS": str(ROOT / "solutions"), "OUT": os.devnull,
                 "__name__": "boundary_control"}
    exec(compile(SURVEY, "survey", "exec"), namespace)
    facts = namespace["survey"]()
    assert "oracle_sigmoid" in facts["oracles"]
    assert "grader.exercises.ex01_sigmoid" in facts["grader_modules"]


def test_student_process_limits_and_sandbox(surveyed):
    facts, limits, sandbox, pid = surveyed
    assert facts["sid_is_pid"], "the student process leads its own session and process group"
    assert facts["cwd"] == facts["home"] == facts["tmpdir"] == sandbox  # a fresh empty folder
    assert facts["limits"]["FSIZE"] == limits.file_bytes
    assert facts["limits"]["CPU"] == limits.cpu_seconds
    assert facts["limits"]["CORE"] == 0
    assert limits.memory_bytes < facts["limits"]["AS"] < limits.memory_bytes + 8 * 1024**3
    assert facts["limits"]["NPROC"] == 0  # no thread or process may start (class 4)
    assert facts["no_new_privs"] == "1"  # setuid programs (sudo) grant nothing
    assert facts["pdeathsig"] == int(signal.SIGKILL)
    if student_runs_as_other_user():
        import pwd

        from grader.runner import limits as leases
        first, last = limits.uid_range
        uid = facts["uid"][0]  # this grading process's leased uid, the gid the same number
        assert first <= uid <= last and leases._LEASE[1] == uid
        assert facts["uid"] == [uid] * 3 and facts["gid"] == [uid] * 3
        with pytest.raises(KeyError):
            pwd.getpwuid(uid)  # no account owns it
        assert facts["groups"] == []
        # The solutions folder is covered by an empty file system in the student's mount
        # namespace (or, where the kernel refuses, unreadable by permission at least).
        assert facts["solutions"] in ([], "PermissionError")
    else:
        assert facts["uid"][0] == os.getuid()


def test_clean_up_removes_the_sandbox_folder_and_the_process(tmp_path):
    from grader.runner.process import Limits, StudentProcess
    student = tmp_path / "ex01_sigmoid.py"
    student.write_text("open('left_behind.txt', 'w').write('x')\n\ndef sigmoid(z):\n    return z\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(student, 0o644)
    proc = StudentProcess(str(student), "numpy", limits=Limits(call_timeout_s=10, budget_s=20))
    proc.start()
    sandbox, pid = proc._sandbox, proc.proc.pid
    assert (Path(sandbox) / "left_behind.txt").exists()  # relative paths land in the sandbox
    proc.close()
    assert not os.path.exists(sandbox)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_static_scan_flags_tampering():
    from grader.checks import static
    from grader.engine import _forbidden_message
    snippets = {
        "gc.get_objects()": "gc.get_objects",
        "sys._getframe(1)": "sys._getframe",
        "inspect.stack()": "inspect.stack",
        "f = sys._getframe(); g = f.f_back": ".f_back",
        "sys.modules['x']": "sys.modules",
        "os.sys.modules['x']": ".sys.modules",
        "sys.meta_path.clear()": "sys.meta_path",
        "__import__('scipy')": "dynamic code",
        "importlib.import_module('scipy')": "dynamic code",
        "getattr(os, 'kill')(1, 9)": "os.kill",
        "os.kill(os.getppid(), 9)": "os.kill",
        "os._exit(0)": "os._exit",
        "os.fork()": "os.fork",
        "fn.__globals__['x']": ".__globals__",
        "object.__subclasses__()": ".__subclasses__",
    }
    header = "import gc, inspect, os, sys, importlib, runpy\n"
    for code, rule in snippets.items():
        found = static.scan(header + code + "\n")
        assert found and any(f.rule == rule for f in found), (code, found)
        assert "dlgrade forbids in graded code" in _forbidden_message(found, []), code
    for module in ("signal", "subprocess", "psutil", "multiprocessing", "threading", "ctypes",
                   "pickle", "marshal", "shutil", "socket", "runpy", "importlib.util"):
        assert static.scan(f"import {module}\n"), module
        assert static.scan(f"from {module} import x\n") or module == "ctypes", module


def test_static_scan_leaves_plain_code_alone():
    """No false alarm on the reference solutions, nor on a variable that shares a module's name."""
    from grader.checks import static
    for path in sorted((ROOT / "solutions").glob("*.py")):
        assert static.scan(path.read_text()) == [], path.name
    assert static.scan("signal = x + 1\ncode = signal * 2\nsocket = code\n") == []


def _exercise(checks):
    from grader.checks.common import forbidden_check
    from grader.spec import Exercise, Function
    return Exercise(id="ex01", slug="sigmoid", title="t", backend="numpy",
                    functions=(Function("sigmoid", ("z",)),), checks=(*checks, forbidden_check(1)))


def _grade(exercise):
    from grader.engine import Options, grade_exercise
    return {c.name: c for c in grade_exercise(exercise, ROOT / "solutions", Options(seed=1)).checks}


def _calls_sigmoid(ctx):
    ctx.call("sigmoid", np.zeros(3))


def _skips(ctx):
    from grader.spec import Skip
    raise Skip("not here")


def _fails(ctx):
    from grader.spec import Fail
    ctx.call("sigmoid", np.zeros(3))
    raise Fail("wrong")


def test_forbidden_check_fails_closed_when_nothing_was_observed():
    from grader.spec import Check
    # Every other check skipped: no student code was seen running, so no point for "clean code".
    got = _grade(_exercise([Check("only_skip", "value", 1, _skips, ("sigmoid",))]))
    assert got["no_forbidden_calls"].status == "fail"
    assert "no check passed" in got["no_forbidden_calls"].message
    # Control: the same clean code, seen running, passes.
    got = _grade(_exercise([Check("runs", "value", 1, _calls_sigmoid, ("sigmoid",))]))
    assert got["no_forbidden_calls"].status == "pass"


def test_performance_check_fails_closed_without_correctness():
    from grader.spec import Check
    fast = Check("performance", "performance", 1, _calls_sigmoid, ("sigmoid",))
    got = _grade(_exercise([Check("values", "value", 1, _fails, ("sigmoid",)), fast]))
    assert got["performance"].status == "fail" and got["performance"].score == 0
    assert "did not pass its correctness checks" in got["performance"].message
    # Control: once the values are right, the same performance check keeps its pass.
    got = _grade(_exercise([Check("values", "value", 1, _calls_sigmoid, ("sigmoid",)), fast]))
    assert got["performance"].status == "pass"


def test_malformed_answers_are_refused():
    from grader.runner.codec import Handle
    from grader.runner.process import _valid_result
    good = {"ok": True, "value": np.zeros(2), "warnings": []}
    assert _valid_result(good, False)
    assert _valid_result({"ok": False, "error": {"type": "E", "message": "m", "traceback": "",
                                                 "line": 3}}, False)
    assert _valid_result({**good, "inputs": ([np.zeros(2), Handle(0)], {})}, True)
    for bad in ({"ok": 1, "value": 0}, {"ok": True}, {**good, "warnings": 5},
                {**good, "warnings": [3]}, {**good, "forbidden": "x"},
                {**good, "global_rng_changed": None},
                {"ok": False, "error": {"traceback": 7}}, {"ok": False, "error": "boom"},
                {"ok": False, "error": {"line": "3"}}, "ok", None):
        assert not _valid_result(bad, False), bad
    assert not _valid_result(good, True)  # inputs asked for and missing
    assert not _valid_result({**good, "inputs": 3}, True)


GRADER_THAT_GETS_KILLED = r"""
import sys
def main():
    from grader.runner.process import Limits, StudentProcess
    p = StudentProcess(sys.argv[1], "numpy", limits=Limits(call_timeout_s=60, budget_s=60))
    p.start()
    print(p.proc.pid, flush=True)
    import numpy as np
    p.calls_batch([{"fn": "sigmoid", "args": [np.zeros(2)], "kwargs": {}}])
if __name__ == "__main__":
    main()
"""


def test_student_process_dies_with_the_grader(tmp_path):
    """SIGKILL the grader in the middle of a call (a CI timeout does this): the fork server sees
    the grader gone and exits, and the student process, whose parent-death signal is SIGKILL,
    goes with it instead of running on for ever."""
    student = tmp_path / "ex01_sigmoid.py"
    student.write_text("import time\n\ndef sigmoid(z):\n    time.sleep(120)\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(student, 0o644)
    grader = subprocess.Popen([sys.executable, "-c", GRADER_THAT_GETS_KILLED, str(student)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    pid = int(grader.stdout.readline())
    assert psutil.pid_exists(pid)
    time.sleep(0.5)  # inside the call
    grader.kill()
    grader.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the student process outlived the grader")


@pytest.mark.slow
def test_the_wheel_ships_no_solutions(tmp_path):
    """What `pip install dlgrade` installs: the grader package only - no solutions/, no exercises/
    skeletons, no autotests (built from a copy, so the repository gets no build/ folder)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist",
                                                              "__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(tmp_path / "wheel")], check=True)
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"grader", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    assert not [n for n in names if "solution" in n.lower()]
    assert "grader/runner/worker.py" in names


def test_documented_limits_match_the_code():
    """docs/security.md states every Limits default; this keeps the table true."""
    import dataclasses
    import re
    from grader.runner.process import Limits
    text = (ROOT / "docs" / "security.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", text, flags=re.M))
    fields = {f.name: f.default for f in dataclasses.fields(Limits)}
    assert set(rows) == set(fields)
    for name, default in fields.items():
        assert rows[name] == repr(default), name


def test_submission_config_cannot_change_the_grading(tmp_path):
    """A wrong sigmoid whose repository carries a dlgrade.toml giving the checks it passes 100
    points and the others 0, graded from a directory without a configuration of its own."""
    repo, cwd = tmp_path / "repo", tmp_path / "cwd"
    (repo / "exercises").mkdir(parents=True)
    cwd.mkdir()
    (repo / "exercises" / "ex01_sigmoid.py").write_text(
        "import numpy as np\n\ndef sigmoid(z):\n    return np.tanh(z)\n\n"
        "def sigmoid_grad(z):\n    return 1 - np.tanh(z) ** 2\n")
    (repo / "dlgrade.toml").write_text(
        "[exercises.ex01]\npoints = { signature = 100, inputs_untouched = 100, sigmoid_values = 0, "
        "sigmoid_grad_values = 0, sigmoid_grad_numeric = 0, stability = 0 }\n")
    r = subprocess.run([sys.executable, "-m", "grader.cli", "check", "ex01", "--path", str(repo),
                        "--seed", "1", "--no-perf", "--json", "-"], capture_output=True, text=True,
                       cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    report = json.loads(r.stdout)
    from grader.exercises import resolve
    built_in = {c.name: c.points for c in resolve("ex01").checks}
    for c in report["exercises"][0]["checks"]:
        if c["status"] != "skip":
            assert c["max_score"] == built_in[c["name"]], c["name"]
    assert report["score"] < 0.5 * report["max_score"]


TORCH_PRELOADED = r"""
import sys
def main():
    import numpy as np
    from grader.runner.process import Limits, StudentProcess, warm_up
    warm_up({"numpy", "torch"})  # as `dlgrade check --all` does: torch in the fork server
    p = StudentProcess(sys.argv[1], "numpy", blocked=("torch", "scipy", "jax"),
                       limits=Limits(call_timeout_s=120, budget_s=240))
    p.start()
    print(p.calls_batch([{"fn": "sigmoid", "args": [np.zeros(2)], "kwargs": {}}])[0])
    p.close()
if __name__ == "__main__":
    main()
"""


def test_forbidden_library_preloaded_by_the_fork_server_cannot_be_imported(tmp_path):
    """With torch exercises in the run, the fork server has torch loaded; a numpy exercise's
    student process must still find `import torch` refused (it is dropped from sys.modules)."""
    student = tmp_path / "ex01_sigmoid.py"
    student.write_text("def sigmoid(z):\n    import torch\n    return torch.zeros(2).numpy()\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(student, 0o644)
    r = subprocess.run([sys.executable, "-c", TORCH_PRELOADED, str(student)], capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "'ok': False" in r.stdout and "importing 'torch' is not allowed" in r.stdout, r.stdout


def test_student_process_does_not_reimport_the_command_line(tmp_path):
    """Run through the real front end (``python -m grader.cli``, whose ``__main__`` multiprocessing
    would otherwise re-import in every student process): the student's process sees neither the
    command line module nor click and rich (0.1-0.2 s per student process, and grader code in the
    student's memory for nothing)."""
    student = tmp_path / "ex01_sigmoid.py"
    student.write_text(
        "import sys\n"
        "def sigmoid(x):\n"
        "    mods = sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'rich')\n"
        "                  or m == 'grader.cli')\n"
        "    main = getattr(sys.modules['__main__'], '__file__', None)\n"
        "    raise RuntimeError(f'SURVEY mods={mods} main={main}')\n"
        "def sigmoid_grad(x):\n"
        "    return x\n")
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "grader.cli", "check", "ex01", "--path", str(tmp_path),
                    "--no-perf", "--json", str(report)], cwd=tmp_path, capture_output=True,
                   timeout=120)
    messages = " ".join(c["message"] for c in json.loads(report.read_text())["exercises"][0]["checks"])
    assert "SURVEY mods=[] main=None" in messages, messages[:2000]


def test_the_watchdog_fires_what_is_due_and_nothing_disarmed():
    """One watchdog thread serves every channel (runner/channel.py): an armed deadline fires once
    it passes, a disarmed one never does, a later one waits its turn."""
    from grader.runner.channel import _WATCHDOG
    fired = []
    _WATCHDOG.arm(0.05, lambda: fired.append("due"))
    _WATCHDOG.disarm(_WATCHDOG.arm(0.05, lambda: fired.append("disarmed")))
    later = _WATCHDOG.arm(60, lambda: fired.append("later"))
    deadline = time.monotonic() + 10
    while not fired and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    _WATCHDOG.disarm(later)
    assert fired == ["due"]
