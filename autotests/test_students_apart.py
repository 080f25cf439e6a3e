"""Class 2 of docs/security.md: students graded at the same time cannot reach each other.

Under root every grading process leases its own uid of ``Limits.uid_range`` for its lifetime
(:func:`grader.runner.limits.lease_uid`), and its student processes run as that uid, in a 0700
scratch folder of their own. Student A, graded here, attacks student B, graded at the same time
by another grading process: signals, ptrace, ``/proc/<pid>/mem`` and ``environ``, priority,
scratch files. Each attempt must be refused; all of them succeed when both students share one
uid (``uid_range = ()``: everyone runs as ``run_as``), which is how the test was checked.
As non-root every student runs as the grader's own user and none of this holds (skipped).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from conftest import ROOT

from test_hostile import student_runs_as_other_user

pytestmark = pytest.mark.skipif(
    not student_runs_as_other_user(),
    reason="needs dlgrade to run as root (student code as leased uids); as non-root every "
           "student runs as the grader's user: a documented limit (docs/security.md, class 2)")

VICTIM = r'''
import os

with open("secret.txt", "w") as fh:  # in its own scratch folder
    fh.write("student B's answers")


def where():
    return [os.getpid(), os.getcwd(), os.getuid()]
'''

#: Grader B: another grading process (its own uid lease) with student B loaded, until stdin ends.
GRADER_B = r'''
import json, sys
from grader.runner.process import Limits, StudentProcess
p = StudentProcess(sys.argv[1], "numpy", limits=Limits(call_timeout_s=60, budget_s=600,
                                                      run_as=sys.argv[2]))
p.start()
(res,) = p.calls_batch([{"fn": "where", "args": [], "kwargs": {}}])
print(json.dumps(res["value"]), flush=True)
sys.stdin.read()
p.close()
'''

ATTACKER = r'''
import ctypes, errno, os, signal


def attack(pid, scratch):
    """Everything student A may try against student B's process and files."""
    out = {}

    def attempt(name, fn):
        try:
            fn()
            out[name] = "done"
        except OSError as exc:
            out[name] = type(exc).__name__

    def ptrace():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
            raise OSError(ctypes.get_errno(), "ptrace")
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH

    attempt("probe", lambda: os.kill(pid, 0))
    attempt("mem", lambda: open(f"/proc/{pid}/mem", "rb").close())
    attempt("environ", lambda: open(f"/proc/{pid}/environ", "rb").read())
    attempt("ptrace", ptrace)
    attempt("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, pid, 19))
    attempt("list_scratch", lambda: os.listdir(scratch))
    attempt("read_scratch", lambda: open(os.path.join(scratch, "secret.txt")).read())
    attempt("sigstop", lambda: os.kill(pid, signal.SIGSTOP))
    attempt("sigkill", lambda: os.kill(pid, signal.SIGKILL))
    return out


def me():
    return os.getuid()
'''


def _student(folder: Path, name: str, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    path = folder / name
    path.write_text(text)
    os.chmod(path, 0o644)
    return str(path)


def _call(proc, fn, *args):
    (res,) = proc.calls_batch([{"fn": fn, "args": list(args), "kwargs": {}}])
    assert res["ok"], res
    return res["value"]


def test_a_student_cannot_reach_another_student_graded_at_the_same_time(tmp_path):
    from grader.runner.process import Limits, StudentProcess
    victim = _student(tmp_path / "b", "ex01_sigmoid.py", VICTIM)
    grader_b = subprocess.Popen([sys.executable, "-c", GRADER_B, victim, "nobody"],
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        pid_b, scratch_b, uid_b = json.loads(grader_b.stdout.readline())
        proc = StudentProcess(_student(tmp_path / "a", "ex01_sigmoid.py", ATTACKER), "numpy",
                              limits=Limits(call_timeout_s=60, budget_s=120))
        proc.start()
        try:
            uid_a = _call(proc, "me")
            out = _call(proc, "attack", pid_b, scratch_b)
        finally:
            proc.close()
        first, last = Limits().uid_range
        assert uid_a != uid_b and first <= uid_a <= last and first <= uid_b <= last
        assert set(out.values()) == {"PermissionError"}, out
        # Student B runs on, unstopped, its files intact.
        assert psutil.Process(pid_b).status() not in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
        assert os.stat(scratch_b).st_uid == uid_b and os.stat(scratch_b).st_mode & 0o777 == 0o700
    finally:
        grader_b.stdin.close()
        grader_b.wait(60)


def _landlock_abi() -> int:
    from grader.runner import confine
    return confine.landlock_abi()


@pytest.mark.skipif(_landlock_abi() < 6, reason="Landlock signal scoping needs Linux >= 6.12")
def test_students_under_one_uid_still_cannot_signal_or_trace_each_other(tmp_path):
    """No uid separation (``run_as = ""``: what a non-root grader gives every student): each
    student process is still in a Landlock domain of its own, which refuses signals, ptrace and
    /proc/<pid>/mem across domains. What one uid does not keep apart - the environment block
    (the grader's allow-list, no secret), the priority, the scratch files - is documented."""
    from grader.runner.process import Limits, StudentProcess
    victim = _student(tmp_path / "b", "ex01_sigmoid.py", VICTIM)
    grader_b = subprocess.Popen([sys.executable, "-c", GRADER_B, victim, ""],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        pid_b, scratch_b, uid_b = json.loads(grader_b.stdout.readline())
        proc = StudentProcess(_student(tmp_path / "a", "ex01_sigmoid.py", ATTACKER), "numpy",
                              limits=Limits(call_timeout_s=60, budget_s=120, run_as=""))
        proc.start()
        try:
            assert _call(proc, "me") == uid_b
            out = _call(proc, "attack", pid_b, scratch_b)
        finally:
            proc.close()
        refused = {k: out[k] for k in ("probe", "mem", "ptrace", "sigstop", "sigkill")}
        assert set(refused.values()) == {"PermissionError"}, out
        assert psutil.Process(pid_b).status() not in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
    finally:
        grader_b.stdin.close()
        grader_b.wait(60)


LEASER = r'''
import sys, time
from grader.runner import limits
print(limits.lease_uid(int(sys.argv[1]), int(sys.argv[2])), flush=True)
time.sleep(600)
'''


def _leaser(first: int, last: int) -> tuple[subprocess.Popen, int]:
    p = subprocess.Popen([sys.executable, "-c", LEASER, str(first), str(last)],
                         stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return p, int(p.stdout.readline())


def test_uid_leases_are_exclusive_and_freed_when_the_holder_dies():
    first = 60990  # the top of the default range: the other tests lease from its bottom
    a, uid_a = _leaser(first, first + 1)
    b, uid_b = _leaser(first, first + 1)
    try:
        assert {uid_a, uid_b} == {first, first + 1}
        c = subprocess.run([sys.executable, "-c", LEASER.replace("time.sleep(600)", ""),
                            str(first), str(first + 1)], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
        assert c.returncode != 0 and "every uid of the range" in c.stderr, c.stderr
        a.kill()  # a grader killed mid-grading: its lease is free again
        a.wait()
        # ... and a process left running under that uid is ended before the uid is reused
        stray = subprocess.Popen(["sleep", "600"], user=uid_a, group=uid_a, extra_groups=[])
        c, uid_c = _leaser(first, first + 1)
        c.kill()
        c.wait()
        assert uid_c == uid_a
        assert stray.wait(10) == -9
    finally:
        for p in (a, b):
            p.kill()
            p.wait()


def test_uids_of_real_accounts_are_never_leased():
    import pwd
    taken = pwd.getpwnam("nobody").pw_uid
    p, uid = _leaser(taken, taken + 1)
    p.kill()
    p.wait()
    assert uid == taken + 1


def test_a_grade_batch_grades_concurrent_students_as_distinct_uids(tmp_path):
    """grade-batch -j 2: two workers, each its own lease; each student records its uid and when
    it ran (in a folder the test grants, writable_extra), and the two ran at the same time."""
    from rich.console import Console

    from grader.batch import BatchOptions, run_batch
    from grader.exercises import resolve
    from grader.runner.process import Limits
    import shutil
    import tempfile
    shared = Path(tempfile.mkdtemp(prefix="dlgrade-uids-"))  # reachable by the students' uids
    os.chmod(shared, 0o777)
    subs = tmp_path / "subs"
    solution = (ROOT / "solutions" / "ex01_sigmoid.py").read_text()
    for name in ("alice", "bob"):
        spy = (f"import os, time\n_t0 = time.time()\ntime.sleep(3)\n"
               f"with open({str(shared / name)!r}, 'w') as _fh:\n"
               f"    _fh.write(f'{{os.getuid()}} {{_t0}} {{time.time()}}')\n")
        _student(subs / name / "exercises", "ex01_sigmoid.py", spy + solution)
    opts = BatchOptions(exercises=[resolve("ex01")], seed=1, seed_given=True, jobs=2,
                        limits=Limits(call_timeout_s=30, budget_s=60,
                                      writable_extra=(str(shared),)), perf=False)
    try:
        with open(tmp_path / "log.txt", "w") as fh:
            run_batch(subs, tmp_path / "grades.csv", opts, console=Console(file=fh, width=200))
        seen = {n: (shared / n).read_text().split() for n in ("alice", "bob")}
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    (ua, a0, a1), (ub, b0, b1) = seen["alice"], seen["bob"]
    assert float(a0) < float(b1) and float(b0) < float(a1), f"not graded concurrently: {seen}"
    assert ua != ub, seen
    first, last = Limits().uid_range
    assert all(first <= int(u) <= last for u in (ua, ub))
