"""Class 4 of docs/security.md: every thread is guarded - because the student process has no other.

The forbidden-operator guard and the autograd ban (torch dispatcher modes) and the op counter
(``sys.settrace``) are per thread. Each test below moves forbidden or counted work onto another
thread - threading, ``concurrent.futures``, ``asyncio.to_thread``, a native ``pthread_create``,
``os.fork`` - and checks that the kernel refuses to start it (``sandbox.forbid_threads``). Each
would fail if that defence were removed: the thread would run, unguarded and uncounted, and the
call would answer with a value (checked by removing it: see the report of issue 11).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from grader.runner.process import Limits, StudentProcess

LIMITS = Limits(call_timeout_s=60, budget_s=120)
#: What every refused thread start looks like from Python (``_thread.start_new_thread``: EAGAIN).
REFUSED = "can't start new thread"

TORCH_THREADS = r'''
import asyncio
import concurrent.futures
import ctypes
import threading

import torch
import torch.nn.functional as F


def conv_here(x, w):
    return F.conv2d(x, w)


def conv_on_a_thread(x, w):
    """The forbidden convolution, computed on a threading.Thread (outside the guard's thread)."""
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("y", F.conv2d(x, w)))
    t.start()
    t.join()
    return out["y"]


def autograd_on_a_thread(x):
    """autograd (banned) on a worker thread of a ThreadPoolExecutor."""
    def grad():
        leaf = x.detach().clone().requires_grad_(True)
        return torch.autograd.grad((leaf ** 2).sum(), leaf)[0]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(grad).result()


def conv_via_asyncio(x, w):
    """The forbidden convolution through asyncio's thread helper."""
    async def go():
        return await asyncio.to_thread(F.conv2d, x, w)
    return asyncio.run(go())


def conv_on_a_native_thread(x, w):
    """The forbidden convolution on a thread started by pthread_create through ctypes (a Python
    callback runs there, as a native library's thread would run it)."""
    out = {}
    start = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(
        lambda arg: out.setdefault("y", F.conv2d(x, w)) and None)
    libc = ctypes.CDLL(None)
    tid = ctypes.c_ulong()
    rc = libc.pthread_create(ctypes.byref(tid), None, start, None)
    if rc != 0:
        raise OSError(rc, "pthread_create refused")
    libc.pthread_join(tid, None)
    return out["y"]
'''

NUMPY_THREADS = r'''
import concurrent.futures
import os

import numpy as np


def loop_on_a_pool(z):
    """A per-element Python loop moved to a ThreadPoolExecutor, where the op counter (a trace
    function of the calling thread) does not see its lines."""
    def loop():
        out = np.empty_like(z)
        for i in range(z.size):
            out.flat[i] = 1.0 / (1.0 + np.exp(-z.flat[i]))
        return out
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return pool.submit(loop).result()


def fork_a_helper(z):
    """A child process to compute in (it could import anything, run any loop)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return z
'''


def _student(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(tmp_path, 0o755)
    os.chmod(path, 0o644)
    return str(path)


@pytest.fixture(scope="module")
def torch_student(tmp_path_factory):
    """A torch exercise's student process whose guard refuses every aten convolution (ex06's
    rule), with the module above loaded."""
    pytest.importorskip("torch")
    tmp = tmp_path_factory.mktemp("threads")
    proc = StudentProcess(_student(tmp, "ex06_conv.py", TORCH_THREADS), "torch",
                          forbidden_ops=("aten::convolution", "aten::_convolution",
                                         "aten::conv2d"), limits=LIMITS)
    proc.start()
    yield proc
    proc.close()


def _one(proc, fn, *args):
    (res,) = proc.calls_batch([{"fn": fn, "args": list(args), "kwargs": {}}])
    return res


def _refused(res, text=REFUSED):
    assert not res["ok"], f"the work ran on another thread and answered: {res}"
    assert text in res["error"]["message"], res["error"]


def test_the_guard_refuses_the_convolution_on_the_main_thread(torch_student):
    """Control: the same convolution on the calling thread is refused by the operator guard."""
    res = _one(torch_student, "conv_here", np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)))
    assert not res["ok"] and "forbidden" in res["error"]["message"], res
    assert res.get("forbidden"), res


def test_forbidden_operator_on_a_thread_cannot_start(torch_student):
    _refused(_one(torch_student, "conv_on_a_thread", np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2))))


def test_autograd_on_a_thread_pool_cannot_start(torch_student):
    _refused(_one(torch_student, "autograd_on_a_thread", np.ones(3)))


def test_asyncio_to_thread_cannot_start(torch_student):
    _refused(_one(torch_student, "conv_via_asyncio", np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2))))


def test_native_pthread_create_is_refused(torch_student):
    _refused(_one(torch_student, "conv_on_a_native_thread", np.ones((1, 1, 4, 4)),
                  np.ones((1, 1, 2, 2))), "pthread_create refused")
    res = _one(torch_student, "conv_on_a_native_thread", np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)))
    assert "11" in res["error"]["message"]  # EAGAIN, as the kernel's process limit answers


@pytest.fixture(scope="module")
def numpy_student(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("threads_np")
    proc = StudentProcess(_student(tmp, "ex01_sigmoid.py", NUMPY_THREADS), "numpy",
                          blocked=("torch", "scipy"), limits=LIMITS)
    proc.start()
    yield proc
    proc.close()


def test_op_counter_sees_no_loop_moved_to_a_thread_pool(numpy_student):
    """Under the op counter (``opcount``), the loop on a pool thread cannot start."""
    sample = numpy_student.perf({"op": "opcount", "fn": "loop_on_a_pool",
                                 "args": [np.linspace(-3, 3, 50)], "kwargs": {}, "torch": False})
    answer = sample.answer
    assert answer.get("ok") is False, f"the loop ran uncounted: {answer}"
    assert REFUSED in answer["error"]["message"], answer


def test_a_child_process_cannot_be_forked(numpy_student):
    res = _one(numpy_student, "fork_a_helper", np.zeros(2))
    assert not res["ok"] and res["error"]["type"] == "BlockingIOError", res


BROKEN_BAN = r"""
import os, sys
from grader.runner import sandbox
if sys.argv[1].startswith("no-seccomp"):
    sandbox._seccomp_refuse_clone = lambda: False  # as where libseccomp.so.2 is missing
if sys.argv[1] == "no-seccomp-unprivileged":  # a non-root grader: the kernel's limit alone
    os.setgroups([])
    os.setresgid(60998, 60998, 60998)
    os.setresuid(60998, 60998, 60998)
try:
    sandbox.forbid_threads()
    print("banned")
except sandbox.SandboxFailure as exc:
    print("refused:", exc)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the kernel's process limit holds for non-root")
def test_no_thread_ban_fails_closed_under_root(tmp_path):
    """Root ignores RLIMIT_NPROC; without the seccomp layer a thread still starts, so
    forbid_threads refuses to let student code run (SandboxFailure with the documented line,
    which the grader reports on every check). With seccomp, the ban holds as root too; as a
    non-root user (what a non-root grader's student is) the kernel's limit alone holds it."""
    import subprocess
    import sys

    from conftest import ROOT
    from grader.runner import sandbox
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = {mode: subprocess.run([sys.executable, "-c", BROKEN_BAN, mode], capture_output=True,
                                text=True, env=env, timeout=60).stdout.strip()
           for mode in ("no-seccomp", "seccomp", "no-seccomp-unprivileged")}
    assert out["no-seccomp"] == "refused: " + sandbox.NO_THREAD_BAN, out
    assert out["seccomp"] == "banned", out
    assert out["no-seccomp-unprivileged"] == "banned", out  # RLIMIT_NPROC = 0 holds for non-root
