"""The reusable judgements of grader/checks/common.py: every changed input named, and a crash
that was the only finding still says what was being judged."""
import numpy as np
import pytest

from grader.checks.common import Findings, assert_unchanged
from grader.context import StudentRaised
from grader.spec import Fail


def test_every_input_changed_in_place_is_named():
    """Regression: only the first changed input was named, so a student fixed w, regraded and
    learned about y only then."""
    w, y, X = np.arange(3.0), np.array([0.0, 1.0]), np.ones((2, 3))
    w2, y2 = w.copy(), y.copy()
    w2[1] = 9.0
    y2[0] = -1.0
    with pytest.raises(Fail) as exc:
        assert_unchanged({"w": w, "X": X, "y": y}, [w2, X.copy(), y2], {}, fn="train",
                         names=("w", "X", "y"))
    text = str(exc.value)
    assert "changed its inputs `w` and `y` in place" in text
    assert "w[1] was 1, is now 9" in text and "y[0] was 0, is now -1" in text
    assert "`X`" not in text


def test_one_changed_input_keeps_the_familiar_message():
    x = np.zeros(2)
    with pytest.raises(Fail, match=r"changed its input `x` in place: x\[0\] was 0, is now 1"):
        assert_unchanged({"x": x}, [np.array([1.0, 0.0])], {}, fn="relu", names=("x",))
    assert_unchanged({"x": x}, [x.copy()], {}, fn="relu", names=("x",))   # unchanged: no Fail


def test_a_crash_alone_keeps_what_was_being_judged():
    """Regression: Findings.done re-raised a lone crash without its label, so the student could
    not tell which input crashed (e.g. num_iters=0)."""
    found = Findings()
    with found.judge("X of shape (4, 3)"):
        pass
    with found.judge("num_iters=0"):
        raise StudentRaised("train_logistic", {"type": "NameError", "message": "dw"})
    with pytest.raises(StudentRaised) as exc:
        found.done()
    assert exc.value.on == "num_iters=0" and exc.value.fn == "train_logistic"
