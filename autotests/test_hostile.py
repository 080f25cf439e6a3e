"""Hostile submissions: every trick in ``autotests/hostile/`` is graded through the real command.

Each file there is a student's ``ex01_sigmoid.py`` (or, with ``# exercise: ex02``, their
``ex02_backprop.py``) that attacks the grader instead of (or besides) solving the exercise. Its
header says what the grader must make of it:

    # trick: what it tries (several ``#   `` continuation lines allowed)
    # expect: <check> <status> <text>   that check's status, and text its message contains
    # score: N                          the attacked exercise scores exactly N (usually 0)
    # mode: drop                        the guarantee needs student code to run as another user
                                        (dlgrade run as root, Limits.run_as): skipped otherwise
    # mode: unprivileged                the guarantee needs student code not to run as root
                                        (the non-dumpable grader): skipped when it does
    # grader-may-die                    under one user the grader can be killed: then no report
                                        may exist and the exit status must not be 0
    # perf                              run the performance checks too (otherwise --no-perf:
                                        timings on a busy machine are not what these tests judge)

Placeholders in the file are filled in per run: ``{{SHARED}}`` (a folder every user may write,
for the trick's own traces), ``{{REPORT}}`` and ``{{GRADESCOPE}}`` (the report files the command
writes), ``{{GRADER_CWD}}`` (the command's working directory), ``{{SOLUTIONS}}`` (this
repository's reference solutions), ``{{GRADER_PKG}}`` (the installed ``grader`` package).

For every file, ``dlgrade check ex01 ex02 --json ... --gradescope ...`` runs on a repository holding
the hostile file and the reference ex02 (so the other exercise must get full marks), with small
limits (2 s per call, 5 s per exercise), and the test checks:
  * the exit status is 1 (a student's failure, not the grader's);
  * the JSON report and the Gradescope file are regular files written by the grader that hold
    the true result (the attacked exercise as the header says, ex02 full marks, totals that add up,
    no trace of a forged file);
  * the command ends within its time bound;
  * no process of the student survives an exercise, nor the command (every process the student
    could start carries a marker in its environment, and none is left);
  * nothing appeared in the command's working directory.
The runs go eight at a time (they mostly wait on timeouts), so the file takes well under a minute.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from conftest import ROOT

HOSTILE = Path(__file__).resolve().parent / "hostile"
#: Small limits so that hangs cost seconds (engine.Options(limits=...)).
#: Writes stay confined to the scratch folder (Landlock, the default) except for the run's
#: ``{{SHARED}}`` folder, added per run as ``writable_extra``, where the tricks leave their traces.
LIMITS = {"call_timeout_s": 2.0, "budget_s": 5.0, "memory_bytes": 1024**3, "file_bytes": 1024**2}
#: Upper bound on one command's wall time: two exercises, each at most budget + clean-up.
TIME_BOUND_S = 40.0

#: Runs ``dlgrade`` in-process with the small limits, and records after every exercise which
#: processes carrying this run's marker are alive besides the grader and its fork server.
WRAPPER = r"""
import json, os, sys

def tagged(tag, exclude):
    import psutil
    out = []
    for p in psutil.process_iter():
        try:
            if p.pid in exclude or p.status() == psutil.STATUS_ZOMBIE:
                continue
            if p.environ().get("DLGRADE_HOSTILE_TAG") == tag:
                out.append(p.pid)
        except psutil.Error:
            pass
    return out

def main():
    import multiprocessing.forkserver as fs
    from multiprocessing import resource_tracker
    import grader.engine as engine
    from grader.runner.process import Limits
    limits = Limits(**{k: tuple(v) if isinstance(v, list) else v
                       for k, v in json.loads(os.environ["DLGRADE_TEST_LIMITS"]).items()})
    tag, trace = os.environ["DLGRADE_HOSTILE_TAG"], os.environ["DLGRADE_TEST_TRACE"]
    original = engine.grade

    def grade(exercises, path, opts, progress=None):
        opts.limits = limits

        def hook(ex, result):
            if progress:
                progress(ex, result)
            if result is not None:
                keep = {os.getpid(), getattr(fs._forkserver, "_forkserver_pid", None),
                        getattr(resource_tracker._resource_tracker, "_pid", None)}
                with open(trace, "a") as fh:
                    fh.write(json.dumps({"after": ex.id, "alive": tagged(tag, keep)}) + "\n")
        return original(exercises, path, opts, hook)

    engine.grade = grade
    from grader.cli import main as cli_main
    sys.argv = ["dlgrade"] + sys.argv[1:]
    cli_main()

if __name__ == "__main__":
    main()
"""

_HEADER = re.compile(r"^#\s*(trick|expect|score|mode|exercise|grader-may-die|perf)\b:?\s*(.*)$")


@dataclass
class Spec:
    path: Path
    trick: str = ""
    expects: list = field(default_factory=list)
    score: float | None = None
    mode: str = ""
    exercise: str = "ex01"
    may_die: bool = False
    perf: bool = False


def parse(path: Path) -> Spec:
    spec = Spec(path)
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        m = _HEADER.match(line.strip())
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "trick":
            spec.trick = value
        elif key == "expect":
            name, status, text = (value.split(None, 2) + ["", ""])[:3]
            spec.expects.append((name, status, text))
        elif key == "score":
            spec.score = float(value)
        elif key == "mode":
            spec.mode = value
        elif key == "exercise":
            spec.exercise = value
        elif key == "grader-may-die":
            spec.may_die = True
        elif key == "perf":
            spec.perf = True
    return spec


def student_runs_as_other_user(backend: str = "numpy") -> bool:
    """Whether this machine's dlgrade runs student code as another user (root -> nobody)."""
    from grader.runner.process import Limits, resolve_run_as
    return resolve_run_as(Limits().run_as, backend) is not None


def applies(spec: Spec) -> bool:
    """Whether ``spec``'s guarantee holds in this setting (see ``# mode:``)."""
    if spec.mode == "drop":
        return student_runs_as_other_user()
    if spec.mode == "unprivileged":
        return student_runs_as_other_user() or os.geteuid() != 0
    return True


SKIP_REASON = {
    "drop": "needs dlgrade to run student code as another user (tests run as root, with a "
            "'nobody' user); under one user this trick is a documented limit (docs/security.md)",
    "unprivileged": "student code runs as root here (dlgrade is root and Limits.run_as is off): "
                    "root reads any process's memory",
}


@dataclass
class Run:
    spec: Spec
    returncode: int
    elapsed: float
    stdout: str
    report: Path
    gradescope: Path
    shared: Path
    cwd: Path
    trace: list
    survivors: list
    cwd_files: list


def _tagged(tag: str) -> list[int]:
    out = []
    for p in psutil.process_iter():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and p.environ().get("DLGRADE_HOSTILE_TAG") == tag:
                out.append(p.pid)
        except psutil.Error:
            pass
    return out


def run_hostile(spec: Spec, *, exercises: tuple[str, ...] | None = None, timeout: float = 90.0) -> Run:
    """Grade ``spec``'s file with the real command (see the module docstring); returns what happened."""
    from grader.exercises import resolve
    base = Path(tempfile.mkdtemp(prefix="dlgrade-hostile-"))
    os.chmod(base, 0o755)
    shared, cwd, repo = base / "shared", base / "cwd", base / "repo"
    for d in (shared, cwd):
        d.mkdir()
        os.chmod(d, 0o777)  # so that a student process running as another user may try its worst
    (repo / "exercises").mkdir(parents=True)
    report, gradescope = shared / "report.json", shared / "results.json"
    subs = {"{{SHARED}}": str(shared), "{{REPORT}}": str(report), "{{GRADESCOPE}}": str(gradescope),
            "{{GRADER_CWD}}": str(cwd), "{{SOLUTIONS}}": str(ROOT / "solutions"),
            "{{GRADER_PKG}}": str(ROOT / "grader")}
    text = spec.path.read_text()
    for k, v in subs.items():
        text = text.replace(k, v)
    attacked = resolve(spec.exercise)
    (repo / "exercises" / attacked.filename).write_text(text)
    other = "ex02" if spec.exercise == "ex01" else "ex01"
    honest = resolve(other)
    shutil.copy(ROOT / "solutions" / honest.filename, repo / "exercises" / honest.filename)
    for p in [repo, *repo.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    tag = uuid.uuid4().hex
    limits = {**LIMITS, "writable_extra": [str(shared)]}
    env = dict(os.environ, DLGRADE_HOSTILE_TAG=tag, DLGRADE_TEST_LIMITS=json.dumps(limits),
               DLGRADE_TEST_TRACE=str(base / "trace.jsonl"), PYTHONPATH=str(ROOT))
    ids = exercises or (spec.exercise, other)
    cmd = [sys.executable, "-c", WRAPPER, "check", *ids, "--path", str(repo), "--seed", "7",
           "--json", str(report), "--gradescope", str(gradescope)] + ([] if spec.perf else ["--no-perf"])
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate()
        out += "\n[test: the command did not finish]"
    elapsed = time.monotonic() - t0
    # The fork server and resource tracker leave with the grader; give them a moment.
    deadline = time.monotonic() + 3.0
    survivors = _tagged(tag)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.1)
        survivors = _tagged(tag)
    for pid in survivors:  # do not leave them to the next test
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    trace_file = base / "trace.jsonl"
    trace = [json.loads(line) for line in trace_file.read_text().splitlines()] \
        if trace_file.exists() else []
    return Run(spec, proc.returncode, elapsed, out, report, gradescope, shared, cwd, trace,
               survivors, sorted(p.name for p in cwd.iterdir()))


def _cases():
    return [pytest.param(p, id=p.stem) for p in sorted(HOSTILE.glob("*.py"))]


@pytest.fixture(scope="module")
def runs(request):
    """The selected hostile files graded, eight commands at a time: {file stem: Run}."""
    selected = {item.callspec.params["path"].stem for item in request.session.items
                if item.originalname == "test_hostile_submission"}
    # A trick whose guarantee does not hold here is not run at all: it would succeed (some would
    # write into this repository, a fork bomb as root would not be capped).
    specs = [parse(p) for p in sorted(HOSTILE.glob("*.py")) if p.stem in selected]
    specs = [s for s in specs if applies(s)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        done = dict(zip([s.path.stem for s in specs], pool.map(run_hostile, specs)))
    yield done
    for run in done.values():
        shutil.rmtree(run.shared.parent, ignore_errors=True)


def _table(report: dict) -> str:
    return "\n".join(f"  {e['id']}.{c['name']}: {c['status']} {c['message'][:200]!r}"
                     for e in report.get("exercises", []) for c in e["checks"])


@pytest.mark.parametrize("path", _cases())
def test_hostile_submission(path, runs):
    spec = parse(path)
    assert spec.trick, f"{path.name} has no '# trick:' line"
    assert spec.expects or spec.score is not None, f"{path.name} declares no expectation"
    dropped = student_runs_as_other_user()
    if not applies(spec):
        pytest.skip(SKIP_REASON[spec.mode])
    run = runs[path.stem]
    # The student can never leave a process behind, whatever else happens.
    assert not run.survivors, f"student processes survived the command: {run.survivors}"
    for entry in run.trace:
        assert not entry["alive"], f"student processes alive after {entry['after']}: {entry}"
    assert run.elapsed < TIME_BOUND_S, f"grading took {run.elapsed:.1f} s\n{run.stdout[-3000:]}"
    if spec.may_die and not dropped and run.returncode not in (0, 1, 2):
        # Same user: the grader could be killed. Then it must not look like a pass.
        assert run.returncode != 0
        return
    assert run.returncode == 1, f"exit status {run.returncode}\n{run.stdout[-3000:]}"
    assert run.cwd_files == [], f"files appeared in the grader's working folder: {run.cwd_files}"
    for f in (run.report, run.gradescope):
        assert f.is_file() and not f.is_symlink(), f"{f.name} is not a regular file"
        assert stat.S_ISREG(os.lstat(f).st_mode)
        assert "forged" not in f.read_text().lower(), f"{f.name} holds a forged report"
    report = json.loads(run.report.read_text())
    table = _table(report)
    assert set(report) >= {"dlgrade_version", "seed", "device", "score", "max_score", "exercises"}
    assert report["seed"] == 7
    exercises = {e["id"]: e for e in report["exercises"]}
    other = "ex02" if spec.exercise == "ex01" else "ex01"
    assert [e["id"] for e in report["exercises"]] == [spec.exercise, other]
    assert exercises[other]["score"] == exercises[other]["max_score"] > 0, \
        f"the honest exercise lost points:\n{table}"
    attacked = exercises[spec.exercise]
    for e in report["exercises"]:
        assert e["score"] == sum(c["score"] for c in e["checks"])
        assert e["max_score"] == sum(c["max_score"] for c in e["checks"])
        for c in e["checks"]:
            assert c["score"] == (c["max_score"] if c["status"] == "pass" else 0.0)
    assert report["score"] == sum(e["score"] for e in report["exercises"])
    assert attacked["score"] < attacked["max_score"], f"the trick got full marks:\n{table}"
    if spec.score is not None:
        assert attacked["score"] == spec.score, f"expected {spec.score} points:\n{table}"
    checks = {c["name"]: c for c in attacked["checks"]}
    for name, status, text in spec.expects:
        assert name in checks, f"unknown check {name!r}"
        assert checks[name]["status"] == status, f"{name}: expected {status}:\n{table}"
        assert text.lower() in checks[name]["message"].lower(), \
            f"{name}: message lacks {text!r}:\n{table}"
    gradescope = json.loads(run.gradescope.read_text())
    assert abs(float(gradescope["score"]) - report["score"]) < 1e-9
    extra = EXTRA.get(path.stem)
    if extra:
        extra(run, report, dropped)


# -- trick-specific evidence ---------------------------------------------------------------------
def _pids(run) -> list[int]:
    f = run.shared / "pids"
    return [int(x) for x in f.read_text().split()] if f.exists() else []


def _fork_bomb(run, report, dropped):
    # Not one fork succeeded (the refusal itself is in the signature check's captured output).
    assert _pids(run) == [], f"{len(_pids(run))} processes started"


def _daemon(run, report, dropped):
    assert (run.shared / "refused").exists(), "the daemon's first fork was not even tried"
    assert _pids(run) == [], "the daemon started"
    time.sleep(2.5)  # it meant to overwrite the report 1.5 s after it started
    assert not (run.shared / "daemon_ran").exists(), "the double-forked daemon outlived grading"
    assert json.loads(run.report.read_text()) == report


def _output_flood(run, report, dropped):
    big = run.shared / "big.bin"
    assert big.exists(), "the flood did not write its file"
    assert big.stat().st_size <= LIMITS["file_bytes"]


def _no_marker(name):
    def check(run, report, dropped):
        assert not (run.shared / name).exists(), (run.shared / name).read_text()
    return check


def _grader_untouched(run, report, dropped):
    planted = ROOT / "grader" / "exercises" / "ex99_pwned.py"
    if planted.exists():
        planted.unlink()  # do not leave it to break every later run
        pytest.fail("the student's code wrote into the grader's package")
    _no_marker("wrote_grader")(run, report, dropped)


EXTRA = {
    "fork_bomb": _fork_bomb,
    "double_fork_daemon": _daemon,
    "output_flood": _output_flood,
    "write_grader_files": _grader_untouched,
}
