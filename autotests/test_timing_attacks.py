"""Issue 11, class 5: what op_count and the timing see of a submission's work (the attack
submissions of autotests/submissions/ex01/looped_{slowed_reference,cache_by_value,
garbage_when_timed,hides_from_op_count}.py run through test_submissions.py)."""
from __future__ import annotations

import textwrap

from conftest import grade_file

LOOP = textwrap.dedent("""
    import math

    import numpy as np


    def _sig(v):
        return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


    def sigmoid(z):
        out = []
        for v in z.ravel().tolist():
            out.append(_sig(v))
        return np.asarray(out).reshape(z.shape)


    def sigmoid_grad(z):
        s = sigmoid(z)
        return s * (1.0 - s)
""")


def _check(result, name):
    return next(c for c in result.checks if c.name == name)


def _opcount(tmp_path, n):
    """timing.handle's opcount on ``f`` of a student file that calls a helper module's loop and
    a loop compiled at run time (the worker side, in this process)."""
    import contextlib
    import importlib.util
    import sys
    from types import SimpleNamespace

    import numpy as np

    from grader.runner import timing
    (tmp_path / "helpers_mod.py").write_text(LOOP)
    (tmp_path / "ex01_sigmoid.py").write_text(textwrap.dedent("""
        import helpers_mod

        _ns = {}
        exec(compile("def twice(z):\\n    out = []\\n    for v in z.tolist():\\n"
                     "        out.append(2 * v)\\n    return out\\n", "<generated>", "exec"), _ns)


        def f(z):
            return helpers_mod.sigmoid(z), _ns["twice"](z)
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        spec = importlib.util.spec_from_file_location("student_mod", tmp_path / "ex01_sigmoid.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("helpers_mod", None)
    session = SimpleNamespace(module=module, student_file=str(tmp_path / "ex01_sigmoid.py"),
                              to_student=lambda v: v)
    return timing.handle({"op": "opcount", "fn": "f", "args": [np.zeros(n)], "kwargs": {},
                          "torch": False}, session, contextlib.nullcontext, [],
                         lambda exc, f: {"type": type(exc).__name__, "message": str(exc)})


def test_op_count_sees_helper_modules_and_code_compiled_at_run_time(tmp_path):
    small, large = _opcount(tmp_path, 10), _opcount(tmp_path, 40)
    assert small["ok"] and large["ok"], (small, large)
    files = {line[0] for line in large["lines"]}
    assert {"helpers_mod.py", "<generated>"} <= files, large["lines"]
    assert large["events"] > 3 * small["events"] > 0




def test_op_count_sees_a_loop_run_on_another_thread(tmp_path):
    """Work handed to a thread started during the call is counted too (threading.settrace)."""
    import contextlib
    import importlib.util
    from types import SimpleNamespace

    import numpy as np

    from grader.runner import timing
    path = tmp_path / "ex01_threaded.py"
    path.write_text(textwrap.dedent("""
        import threading


        def _loop(z, out):
            for v in z.tolist():
                out.append(v * 2)


        def f(z):
            out = []
            t = threading.Thread(target=_loop, args=(z, out))
            t.start()
            t.join()
            return out
    """))
    spec = importlib.util.spec_from_file_location("threaded_mod", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    session = SimpleNamespace(module=module, student_file=str(path), to_student=lambda v: v)

    def count(n):
        return timing.handle({"op": "opcount", "fn": "f", "args": [np.zeros(n)], "kwargs": {},
                              "torch": False}, session, contextlib.nullcontext, [],
                             lambda exc, f: {"type": type(exc).__name__, "message": str(exc)})
    small, large = count(10), count(40)
    assert large["events"] > 3 * small["events"] > 0, (small, large)
