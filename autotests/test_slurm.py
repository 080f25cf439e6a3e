"""`dlgrade grade-batch --executor slurm`: a class graded as a job array through submitit.

Two halves. Without a cluster (every machine): the ``[batch.slurm]`` configuration, and the
executor's handling of tasks that time out or die, driven through submitit's LocalExecutor
(array tasks as local processes). Against a real Slurm (root, Debian's slurm-wlm and munge, as
.ci/run installs them): a single-node cluster on localhost started for the session
(autotests/slurm_cluster.py) grades a class of 22 students, one of whom hangs past the task's
time limit, and a batch interrupted with Ctrl-C resumes with the same seed. Without root or the
binaries those tests skip, saying why.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, SUBMISSIONS

SOLUTIONS = {ex: ROOT / "solutions" / f for ex, f in (("ex01", "ex01_sigmoid.py"),
                                                       ("ex03", "ex03_adagrad.py"))}
#: A student whose sigmoid sleeps: the engine's limits are set far above the task's time limit
#: in these tests, so only Slurm's time limit can end it.
HANGS = ("import time\n\n\ndef sigmoid(z):\n    time.sleep(3600)\n\n\n"
         "def sigmoid_grad(z):\n    time.sleep(3600)\n")
CLI = [sys.executable, "-m", "grader.cli", "grade-batch"]


def _student(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name / "exercises"
    folder.mkdir(parents=True)
    for ex, text in files.items():
        (folder / SOLUTIONS[ex].name).write_text(text)
    return folder.parent


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def _expectations(path: Path) -> list[tuple[str, str, str]]:
    """(check, status, fragment) from a submission's ``# expect:`` header."""
    out = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# expect:") and "full" not in line.split(":", 1)[1].split():
            check, status, *fragment = line.split(":", 1)[1].split(maxsplit=2)
            out.append((check, status, fragment[0] if fragment else ""))
    return out


def make_class(root: Path) -> dict[str, dict]:
    """22 students: correct, wrong (autotests/submissions ex01 and ex03, paired), broken and one
    that hangs. Returns name -> {"ex01": expectations or "full", ...} or a status."""
    ex01 = sorted(p for p in (SUBMISSIONS / "ex01").glob("*.py") if not p.stem.startswith("looped"))
    ex03 = sorted(p for p in (SUBMISSIONS / "ex03").glob("*.py") if not p.stem.startswith("looped"))
    expect: dict[str, dict] = {}
    for i in range(14):
        a, b = ex01[i % len(ex01)], ex03[i % len(ex03)]
        name = f"s{i:02d}_{a.stem}__{b.stem}"
        _student(root, name, {"ex01": a.read_text(), "ex03": b.read_text()})
        expect[name] = {"ex01": _expectations(a) or "full", "ex03": _expectations(b) or "full"}
    solved = {ex: p.read_text() for ex, p in SOLUTIONS.items()}
    for name in ("c_solution", "c_solution_too"):
        _student(root, name, solved)
        expect[name] = {"ex01": "full", "ex03": "full"}
    _student(root, "e_empty", {})
    expect["e_empty"] = {"status": "error", "errors": "no file ex01_sigmoid.py"}
    _student(root, "e_syntax", {"ex01": "def sigmoid(z)\n    return z\n", "ex03": solved["ex03"]})
    expect["e_syntax"] = {"status": "error", "errors": "SyntaxError", "ex03": "full"}
    _student(root, "e_skeleton", {"ex01": (ROOT / "exercises" / "ex01_sigmoid.py").read_text(),
                                  "ex03": solved["ex03"]})
    expect["e_skeleton"] = {"status": "error", "errors": "not implemented", "ex03": "full"}
    _student(root, "e_only_ex01", {"ex01": solved["ex01"]})
    expect["e_only_ex01"] = {"status": "error", "errors": "no file ex03_adagrad.py",
                             "ex01": "full"}
    # Correct but slow to import: its task is still at work when Slurm's time-limit warning
    # would come (submitit asks for USR2 90 s before the end: at once for a 1-minute task);
    # a warning sent to the task's processes kills the student process in the middle of it.
    slow = "import time\ntime.sleep(20)\n" + solved["ex01"]
    _student(root, "s99_slow_import", {"ex01": slow, "ex03": solved["ex03"]})
    expect["s99_slow_import"] = {"ex01": "full", "ex03": "full"}
    # First by name: its task starts first, so its two time limits overlap the rest.
    _student(root, "a_hangs", {"ex01": HANGS, "ex03": solved["ex03"]})
    expect["a_hangs"] = {"status": "error", "errors": "time limit", "ex03": "full"}
    return expect


def _check_report(name: str, exp: dict, report: dict) -> None:
    """The report against the ``# expect:`` headers of the student's files."""
    by_id = {e["id"]: e for e in report["exercises"]}
    for ex_id in ("ex01", "ex03"):
        want = exp.get(ex_id)
        if want is None:
            continue
        ex = by_id[ex_id]
        if want == "full":
            assert ex["score"] == ex["max_score"] > 0, (name, ex_id, ex)
            continue
        checks = {c["name"]: c for c in ex["checks"]}
        for check, status, fragment in want:
            got = checks[check]
            if got["status"] == "skip":  # a performance check with --no-perf
                continue
            assert got["status"] == status, (name, check, got)
            assert fragment.lower() in got["message"].lower(), (name, check, got["message"])


# -- without a cluster ---------------------------------------------------------------------
def test_batch_slurm_configuration_is_validated(tmp_path):
    from grader.config import ConfigError, load
    good = tmp_path / "dlgrade.toml"
    good.write_text('[batch.slurm]\npartition = "gpu"\ntime = 30\ngpus_per_task = 1\n'
                    'students_per_task = 5\nsetup = ["module load cuda"]\n'
                    'sbatch = { qos = "high" }\n')
    cfg = load(good)
    assert cfg.batch_slurm["partition"] == "gpu" and cfg.batch_slurm["sbatch"] == {"qos": "high"}
    from grader.batch.command import _slurm_options
    so = _slurm_options(cfg, {"partition": "debug", "time_min": None})
    assert so.partition == "debug" and so.time_min == 30 and so.setup == ("module load cuda",)
    assert so.students_per_task == 5 and so.gpus_per_task == 1
    for text, fragment in (("[batch.slurm]\npartitoin = 'x'\n", "unknown key 'partitoin'"),
                           ("[batch.slurm]\ntime = -1\n", "time must be a positive number"),
                           ("[batch.slurm]\nstudents_per_task = 2.5\n", "an integer >= 1"),
                           ("[batch.slurm]\nsetup = 'module load x'\n", "a list of shell lines"),
                           ("[batch]\nslurm = 3\n", "must be a table"),
                           ("[batch.local]\n", "unknown key 'local'")):
        good.write_text(text)
        with pytest.raises(ConfigError) as exc:
            load(good)
        assert fragment in str(exc.value) and "\n" not in str(exc.value), str(exc.value)
        assert "[batch" in str(exc.value)


def test_task_states_from_sacct_or_squeue_are_read_per_array_task():
    pytest.importorskip("submitit")
    from grader.batch.slurm import _parse
    text = ("12_0|COMPLETED\n12_1|CANCELLED by 0\n12_1.batch|CANCELLED\n12_[3-5%2]|PENDING\n"
            "12_2|TIMEOUT\n13|RUNNING\nnot a line\n")
    assert _parse(text) == {"12_0": "COMPLETED", "12_1": "CANCELLED", "12_2": "TIMEOUT",
                            "12_3": "PENDING", "12_4": "PENDING", "12_5": "PENDING",
                            "13": "RUNNING"}


def test_the_sbatch_file_asks_for_what_the_course_configured(tmp_path):
    """submitit's sbatch text for [batch.slurm]'s values, and Slurm's warning signal turned into
    a harmless SIGCONT to the batch shell (a USR2 to the task's processes kills student
    processes in the middle of a check)."""
    pytest.importorskip("submitit")
    if shutil.which("srun") is None:  # submitit's SlurmExecutor looks for it on construction
        pytest.skip("no srun on PATH (apt-get install slurm-wlm, as .ci/run does)")
    from submitit.slurm.slurm import _make_sbatch_string

    from grader.batch import BatchOptions, SlurmOptions
    from grader.batch.slurm import _executor
    from grader.batch.spec import BatchSpec
    so = SlurmOptions(partition="gpu", account="dl25", time_min=12.5, gpus_per_task=1,
                      cpus_per_task=2, mem_gb=8, array_parallelism=5, students_per_task=4,
                      setup=("module load cuda",), sbatch={"qos": "teaching"})
    spec = BatchSpec(("ex01", "ex03"), 1, "cuda", False, None, {}, None, str(tmp_path))
    ex, task, time_min = _executor(spec, BatchOptions(exercises=[], slurm=so))
    params = ex._executor.parameters if hasattr(ex, "_executor") else ex.parameters
    text = _make_sbatch_string(command="run", folder=tmp_path, map_count=9, **params)
    for line in ("--partition=gpu", "--account=dl25", "--time=13", "--gpus-per-task=1",
                 "--cpus-per-task=2", "--mem=8GB", "--array=0-8%5", "--qos=teaching",
                 "--signal=B:CONT@1"):
        assert f"#SBATCH {line}" in text, (line, text)
    assert "module load cuda" in text and time_min == 12.5


def test_cli_refuses_slurm_where_there_is_no_sbatch(tmp_path):
    _student(tmp_path / "subs", "a", {"ex01": SOLUTIONS["ex01"].read_text()})
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    proc = subprocess.run([*CLI, str(tmp_path / "subs"), "--executor", "slurm", "-e", "ex01",
                           "--csv", str(tmp_path / "g.csv")], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 2 and "no sbatch on PATH" in proc.stderr, proc.stderr


def _local_cluster_batch(subs: Path, csv_path: Path, time_min: float, per_task: int, **kw):
    from rich.console import Console

    from grader.batch import BatchOptions, SlurmOptions, run_batch
    from grader.exercises import resolve
    from grader.runner.process import Limits
    opts = BatchOptions(exercises=[resolve("ex01"), resolve("ex03")], perf=False,
                        executor="slurm", limits=Limits(call_timeout_s=300, budget_s=600),
                        slurm=SlurmOptions(cluster="local", time_min=time_min,
                                           students_per_task=per_task, poll_s=0.5), **kw)
    log = csv_path.with_suffix(".log")
    with open(log, "w") as fh:
        summary = run_batch(subs, csv_path, opts, console=Console(file=fh, width=200))
    return summary, log.read_text()


def test_a_task_that_times_out_is_retried_then_reported_per_student(tmp_path):
    """submitit's LocalExecutor kills a task at its time limit like Slurm: the students the
    task had not finished are submitted again one per task, the one that hangs last; it gets
    an error row for the exercise that hangs and its other exercise graded."""
    subs = tmp_path / "subs"
    solved = {ex: p.read_text() for ex, p in SOLUTIONS.items()}
    _student(subs, "a_hangs", {"ex01": HANGS, "ex03": solved["ex03"]})
    _student(subs, "b_fine", solved)
    _student(subs, "c_fine", solved)
    summary, log = _local_cluster_batch(subs, tmp_path / "g.csv", time_min=0.25, per_task=2)
    rows = _rows(tmp_path / "g.csv")
    assert sorted(rows) == ["a_hangs", "b_fine", "c_fine"] and not summary.interrupted
    assert rows["b_fine"]["status"] == rows["c_fine"]["status"] == "pass"
    hang = rows["a_hangs"]
    assert hang["status"] == "error" and hang["ex01"] == "0", hang
    assert "time limit (0.25 min), in 2 attempts" in hang["errors"], hang["errors"]
    report = json.loads((tmp_path / hang["report"]).read_text())
    ex03 = next(e for e in report["exercises"] if e["id"] == "ex03")
    assert ex03["score"] == ex03["max_score"] > 0 and report["attempts"] == 2
    assert report["node"] == socket.gethostname() and report["gpu"] == "none"
    assert report["internal_errors"] == [] and report["executor"] == "slurm"
    assert "submitted again, one per task" in log
    assert not (tmp_path / "g-reports" / ".partial" / "a_hangs.json").exists()


def test_a_task_that_dies_is_retried_and_resumes_where_it_was(tmp_path):
    """The task is SIGKILLed while grading its second student: that student is graded again
    in a task of its own, resuming after the exercise it had finished; the first keeps the
    report it had."""
    subs = tmp_path / "subs"
    _student(subs, "a_first", {ex: p.read_text() for ex, p in SOLUTIONS.items()})
    _student(subs, "b_second", {"ex01": SOLUTIONS["ex01"].read_text(), "ex03": SOLUTIONS[
        "ex03"].read_text().replace("import numpy as np", "import numpy as np\nimport time\n"
                                    "time.sleep(4)", 1)})
    assert "time.sleep(4)" in (subs / "b_second" / "exercises" / "ex03_adagrad.py").read_text()
    partial = tmp_path / "g-reports" / ".partial" / "b_second.json"
    killed = []

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            try:
                current = json.loads(partial.read_text()).get("current")
            except (OSError, ValueError):
                current = None
            if current == "ex03":
                for p in psutil.process_iter(["cmdline"]):
                    cmd = " ".join(p.info["cmdline"] or [])
                    if "submitit.core._submit" in cmd and str(tmp_path) in cmd:
                        p.kill()
                        killed.append(p.pid)
            time.sleep(0.05)

    import threading
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    summary, log = _local_cluster_batch(subs, tmp_path / "g.csv", time_min=2, per_task=2)
    t.join(5)
    assert killed, log
    rows = _rows(tmp_path / "g.csv")
    assert rows["a_first"]["status"] == "pass" and rows["b_second"]["status"] == "pass", rows
    report = json.loads((tmp_path / rows["b_second"]["report"]).read_text())
    assert report["attempts"] == 2  # ex01 from the first attempt, ex03 graded again
    assert json.loads((tmp_path / rows["a_first"]["report"]).read_text())["attempts"] == 1
    assert "submitted again" in log and summary.graded == ["a_first", "b_second"]


# -- against a real Slurm --------------------------------------------------------------------
@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A single-node Slurm on localhost for the session (None, with the reason, where it cannot
    run); its daemons are stopped by their pid files afterwards and checked gone."""
    import slurm_cluster
    reason = slurm_cluster.unavailable_reason()
    if reason:
        yield None, reason
        return
    try:
        c = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    except slurm_cluster.ClusterUnavailable:  # once more, on fresh ports
        c = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(c.conf)
    try:
        yield c, ""
    finally:
        left = slurm_cluster.stop(c)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        assert not left, f"Slurm daemons left running: {left}"


@pytest.fixture(scope="module")
def cluster(slurm):
    if slurm[0] is None:
        pytest.skip(slurm[1])
    return slurm[0]


def _active_jobs() -> list[str]:
    r = subprocess.run(["squeue", "-h", "-o", "%i|%T"], capture_output=True, text=True, timeout=30)
    return [ln for ln in r.stdout.splitlines() if ln.strip()]


class _Run:
    """A grade-batch command running in the background."""

    def __init__(self, args, cwd):
        self.proc = subprocess.Popen([*CLI, *args], cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out = None

    def wait(self, timeout):
        if self.out is None:
            out, err = self.proc.communicate(timeout=timeout)
            self.out = (self.proc.returncode, err)
        return self.out


@pytest.fixture(scope="module", autouse=True)
def class_batch(slurm, tmp_path_factory):
    """The class, started on the cluster before this module's first test: its hanging student
    costs two time limits (a minute or more each), which the other tests use."""
    if slurm[0] is None:
        yield None
        return
    tmp = tmp_path_factory.mktemp("slurm_class")
    expect = make_class(tmp / "subs")
    run = _Run([str(tmp / "subs"), "--executor", "slurm", "--partition", slurm[0].partition,
                "--time", "1", "--students-per-task", "3", "-e", "ex01", "-e", "ex03",
                "--no-perf", "--call-timeout", "300", "--budget", "600", "--csv",
                str(tmp / "grades.csv"), "--no-progress"], cwd=tmp)
    yield {"tmp": tmp, "expect": expect, "run": run}
    if run.proc.poll() is None:
        run.proc.kill()


def _wait_rows(run, csv_path, n, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.proc.poll() is None:
        if csv_path.exists() and len(_rows(csv_path)) >= n:
            return
        time.sleep(0.2)


def test_an_interrupted_batch_resumes_with_the_same_seed(cluster, class_batch, tmp_path):
    """Ctrl-C while the array runs: exit 130, the batch's jobs cancelled, the finished rows
    kept. Then a front end killed outright (SIGKILL: its tasks keep running): the next run
    cancels those leftover tasks instead of grading their students twice. The same command
    finally grades the rest, with the seed of the first run."""
    subs = tmp_path / "subs"
    for i in range(8):
        source = SOLUTIONS["ex01"] if i % 2 == 0 else SUBMISSIONS / "ex01" / "sign_error.py"
        _student(subs, f"s{i}", {"ex01": source.read_text()})
    csv_path = tmp_path / "g.csv"
    args = [str(subs), "--executor", "slurm", "-e", "ex01", "--no-perf", "--students-per-task",
            "2", "--array-parallelism", "1", "--time", "2", "--csv", str(csv_path),
            "--no-progress"]
    first = _Run(args, cwd=tmp_path)
    _wait_rows(first, csv_path, 2)
    first.proc.send_signal(signal.SIGINT)
    code, err = first.wait(120)
    assert code == 130, err
    assert "cancelled the batch's" in err and "interrupted" in err, err
    done = _rows(csv_path)
    assert 2 <= len(done) < 8, err
    seed = json.loads((tmp_path / "g-reports" / ".batch.json").read_text())["seed"]
    assert {r["seed"] for r in done.values()} == {str(seed)}
    array = err.split("(job ")[1].split(")")[0]
    deadline = time.monotonic() + 30
    while any(j.startswith(array + "_") for j in _active_jobs()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(j.startswith(array + "_") for j in _active_jobs()), _active_jobs()

    second = _Run(args, cwd=tmp_path)
    _wait_rows(second, csv_path, len(done) + 1)
    second.proc.kill()
    second.wait(60)
    assert len(_rows(csv_path)) < 8, "the batch finished before it could be killed"
    code, err = _Run(args, cwd=tmp_path).wait(300)
    assert code == 0, err
    assert "of an earlier run of this batch that were still queued or running" in err, err
    final = _rows(csv_path)
    assert sorted(final) == [f"s{i}" for i in range(8)]
    assert f"seed {seed} (kept from this batch's first run)" in err, err
    assert {r["seed"] for r in final.values()} == {str(seed)}
    for name, row in done.items():
        assert final[name] == row
    for i in range(8):
        assert final[f"s{i}"]["status"] == ("pass" if i % 2 == 0 else "fail"), final[f"s{i}"]
    assert not _active_jobs() or all(not j.startswith(array) for j in _active_jobs())


def test_a_class_through_a_job_array(cluster, class_batch):
    """22 students in 3-student array tasks on a real Slurm: every row as the submissions'
    `# expect:` headers say, the hanging student an error row from the task's time limit
    (its other exercise graded), the slow one full marks, node and GPU model in every report,
    nothing left queued.

    Checked by removing the defence (the ``signal`` override in grader/batch/slurm.py
    ``_executor``): Slurm then sends submitit's USR2 while s99_slow_import is being imported,
    submitit's handler raises inside the engine, and ex01 becomes an internal grader error
    ("UncompletedJobError('Job not requeued because: timed-out too many times.')"), a
    grader-error row, failing this test."""
    code, err = class_batch["run"].wait(420)
    tmp, expect = class_batch["tmp"], class_batch["expect"]
    assert code == 0, err
    assert len(expect) >= 20
    rows = _rows(tmp / "grades.csv")
    assert sorted(rows) == sorted(expect), err
    seeds = {r["seed"] for r in rows.values()}
    assert len(seeds) == 1, seeds
    assert "submitted again, one per task" in err
    for name, exp in expect.items():
        row = rows[name]
        if "status" in exp:
            assert row["status"] == exp["status"], (name, row)
            assert exp["errors"].lower() in row["errors"].lower(), (name, row["errors"])
        report = json.loads((tmp / row["report"]).read_text())
        assert report["node"] == cluster.node and report["gpu"] == "none", report
        assert report["executor"] == "slurm" and "_" in str(report["job"]), report["job"]
        _check_report(name, exp, report)
        if all(exp.get(e) == "full" for e in ("ex01", "ex03")):
            assert row["status"] == "pass", (name, row)
    hang = rows["a_hangs"]
    assert hang["ex01"] == "0" and "in 2 attempts" in hang["errors"], hang
    assert not _active_jobs()
