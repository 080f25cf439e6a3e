"""The README's example output is what this version of dlgrade really prints.

The block after the ``<!-- example output: SUBMISSION -->`` comment in README.md starts with
``$ COMMAND``; the test runs COMMAND at the root of a repository holding SUBMISSION as its
exercise file and compares the output line for line (only the exercise's wall time, "(0.64 s)",
may differ). When dlgrade's output changes on purpose, regenerate the block with
``python autotests/test_readme.py --write`` and review the difference.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_MARKER = re.compile(r"<!-- example output: (\S+) -->\n```\n(.*?)```\n", re.S)
_WALL = re.compile(r"\(\d+\.\d+ s\)")


def _example(text: str):
    m = _MARKER.search(text)
    assert m, "README.md has no <!-- example output: ... --> block"
    submission, block = m.group(1), m.group(2)
    command = block.splitlines()[0]
    assert command.startswith("$ dlgrade "), command
    return m, submission, command[2:], block


def real_output(submission: str, command: str, tmp: Path) -> str:
    """``$ command`` and what it prints (stdout and stderr, as a terminal shows both) when run
    on a repository whose exercise file is ``submission`` (a path relative to the repository)."""
    source = ROOT / submission
    exercise = re.match(r"(ex\d\d)", source.parent.name).group(1)
    from grader.exercises import resolve
    repo = tmp / "repo"
    (repo / "exercises").mkdir(parents=True)
    (repo / "exercises" / resolve(exercise).filename).write_text(source.read_text())
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "PYTEST_")) and k != "CI"}
    args = shlex.split(command)
    proc = subprocess.run([sys.executable, "-m", "grader.cli", *args[1:]], cwd=repo, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    lines = [ln.rstrip() for ln in proc.stdout.splitlines()]
    return "\n".join([f"$ {command}", *lines]) + "\n"


def test_readme_example_is_the_real_output(tmp_path):
    _, submission, command, block = _example(README.read_text(encoding="utf-8"))
    real = real_output(submission, command, tmp_path)
    shown = [_WALL.sub("(T s)", ln.rstrip()) for ln in block.splitlines()]
    got = [_WALL.sub("(T s)", ln) for ln in real.splitlines()]
    assert shown == got, ("README.md's example output is not what dlgrade prints now; run "
                          "`python autotests/test_readme.py --write` and review:\n" + real)


def test_readme_keeps_its_two_commands():
    """The README's two commands for a fresh machine (what .ci/run runs for the second) are
    unchanged by the CPU-torch note."""
    text = README.read_text(encoding="utf-8")
    assert ("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip "
            "install -e . && dlgrade check --all --path solutions") in text
    assert ("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip "
            "install -e '.[test]' && python -m pytest -q -m \"not slow and not gpu\" autotests") \
        in text
    assert "--index-url https://download.pytorch.org/whl/cpu" in text


if __name__ == "__main__":  # python autotests/test_readme.py --write
    import tempfile
    sys.path.insert(0, str(ROOT))
    text = README.read_text(encoding="utf-8")
    m, submission, command, _ = _example(text)
    with tempfile.TemporaryDirectory() as tmp:
        real = real_output(submission, command, Path(tmp))
    if "--write" in sys.argv:
        README.write_text(text[:m.start(2)] + real + text[m.end(2):], encoding="utf-8")
        print(f"README.md: example output of `{command}` rewritten")
    else:
        print(real, end="")
