"""Report formats of one run: JUnit XML, Gradescope results.json, the GitHub step summary.

Every format is produced by the real ``dlgrade check`` (a subprocess, as in CI) from one graded
report, validated against schemas shipped in ``autotests/schemas/`` (JUnit: ``junit-10.xsd``, the
Jenkins xUnit plugin's schema, copied from its public source, and ``junit.xsd``, both also
validated against pytest's own JUnit output; Gradescope: a JSON schema of its documented format),
and read back with the format's own library (junitparser) to compare with the JSON report.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SUBMISSIONS

SCHEMAS = Path(__file__).resolve().parent / "schemas"
DLGRADE = [sys.executable, "-m", "grader.cli"]

HOSTILE = '''import sys
import numpy as np
print("::error file=x.py::pwned by the student")
print("##[error]legacy command")
print("\\x1b[2J\\x1b[31mred\\rline")


def sigmoid(z):
    raise ValueError("::warning::injected\\n::set-output name=x::y <b>bold</b> | `code` ![i](http://e/x.png)")


def sigmoid_grad(z):
    sys.exit(4)
'''
EXIT_AT_IMPORT = 'print("::error::bye")\nimport sys\nsys.exit(3)\n'


def _repo(tmp_path: Path, name: str, source: str) -> Path:
    repo = tmp_path / name
    (repo / "exercises").mkdir(parents=True)
    (repo / "exercises" / "ex01_sigmoid.py").write_text(source)
    return repo


def _check(repo: Path, *args, env=None):
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")}
    full_env.update(env or {})
    return subprocess.run([*DLGRADE, "check", "ex01", "--seed", "5", "--no-perf", *args], cwd=repo,
                          capture_output=True, text=True, env=full_env, timeout=120)


class _BothSchemas:
    """The two JUnit schemas as one: valid means valid against both."""

    def __init__(self, schemas):
        self.schemas = schemas

    def validate(self, source) -> None:
        for schema in self.schemas:
            schema.validate(source)

    def is_valid(self, source) -> bool:
        return all(schema.is_valid(source) for schema in self.schemas)


@pytest.fixture(scope="module")
def xsd():
    """junit-10.xsd (Jenkins' xUnit plugin) and autotests' own junit.xsd together."""
    xmlschema = pytest.importorskip("xmlschema")
    return _BothSchemas([xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")),
                         xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd"))])


def test_jenkins_schema_refuses_skipped_on_testsuites():
    """What junit-10.xsd refuses and dlgrade therefore never writes: a ``skipped`` count on the
    root (junitparser's update_statistics adds one; junit.write removes it)."""
    xmlschema = pytest.importorskip("xmlschema")
    jenkins = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))
    doc = ('<testsuites name="d" tests="1" failures="0" errors="0"{}><testsuite name="s" '
           'tests="1" failures="0" errors="0" skipped="1"><testcase name="c"><skipped/>'
           '</testcase></testsuite></testsuites>')
    assert jenkins.is_valid(doc.format(""))
    assert not jenkins.is_valid(doc.format(' skipped="1"'))
    from grader.report import junit
    from grader.results import CheckResult, ExerciseResult, Report
    ex = ExerciseResult("ex01", "sigmoid", "p", [CheckResult("performance", "performance", "skip",
                                                             0.0, 0.0, 0.0, "off")])
    text = junit.to_string(Report(seed=1, device="cpu", exercises=[ex]))
    assert jenkins.is_valid(text)
    assert "<testsuites" in text and 'skipped="1"' in text  # on the suite, not the root


@pytest.fixture(scope="module")
def gradescope_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "gradescope-results.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Four submissions graded once by `dlgrade check` with every report format."""
    tmp = tmp_path_factory.mktemp("reports")
    sources = {"correct": (ROOT / "solutions" / "ex01_sigmoid.py").read_text(),
               "buggy": (SUBMISSIONS / "ex01" / "sign_error.py").read_text(),
               "hostile": HOSTILE, "exits": EXIT_AT_IMPORT}
    running = {}
    for name, src in sources.items():  # in parallel: four interpreter starts cost seconds
        repo = _repo(tmp, name, src)
        env = {k: v for k, v in os.environ.items()
               if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")}
        env["GITHUB_STEP_SUMMARY"] = str(repo / "summary.md")
        if name != "buggy":  # the buggy run shows what a run outside GitHub Actions prints
            env["GITHUB_ACTIONS"] = "true"
        cmd = [*DLGRADE, "check", "ex01", "--seed", "5", "--no-perf", "--json", "r.json",
               "--junit-xml", "junit.xml", "--gradescope", "gs.json"]
        running[name] = (repo, subprocess.Popen(cmd, cwd=repo, env=env, text=True,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    out = {}
    for name, (repo, proc) in running.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[name] = (repo, subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def test_exit_codes_and_every_file_written(graded):
    expected = {"correct": 0, "buggy": 1, "hostile": 1, "exits": 1}
    for name, (repo, proc) in graded.items():
        assert proc.returncode == expected[name], (name, proc.stdout[-2000:], proc.stderr[-2000:])
        for f in ("r.json", "junit.xml", "gs.json", "summary.md"):
            assert (repo / f).is_file(), f"{name}: {f} not written"
        last = proc.stdout.strip().splitlines()[-1]
        assert last.startswith("dlgrade: ") and f"exit status {expected[name]}" in last


def test_junit_validates_and_matches_the_json_report(graded, xsd):
    from junitparser import Error, Failure, JUnitXml, Skipped
    for name, (repo, _) in graded.items():
        xsd.validate(str(repo / "junit.xml"))
        report = json.loads((repo / "r.json").read_text())
        xml = JUnitXml.fromfile(str(repo / "junit.xml"))
        suites = list(xml)
        assert len(suites) == len(report["exercises"])
        for suite, ex in zip(suites, report["exercises"]):
            props = {p.name: p.value for p in suite.properties()}
            assert float(props["score"]) == ex["score"]
            assert float(props["max_score"]) == ex["max_score"]
            assert props["seed"] == "5"
            cases = list(suite)
            assert len(cases) == len(ex["checks"])
            from grader.exercises import resolve
            points = {c.name: c.points for c in resolve(ex["id"]).checks}
            for case, c in zip(cases, ex["checks"]):
                # the check's points from its spec (a skipped check scores 0 of 0 in the report)
                assert case.name == f"{c['name']} ({points[c['name']]:g} pts)"
                assert case.classname == "dlgrade.ex01_sigmoid"
                kinds = {type(r) for r in case.result}
                want = {"pass": set(), "fail": {Failure}, "error": {Error}, "skip": {Skipped}}
                assert kinds == want[c["status"]], (name, c["name"], c["status"])
                if c["status"] in ("fail", "error"):
                    r = case.result[0]
                    assert r.message.startswith(f"0/{c['max_score']:g} points: ")
                    assert c["message"].split("\n")[0][:40] in r.text or "\\x" in r.text
                assert f"score {c['score']:g}/{c['max_score']:g} points" in case.system_out
            assert suite.tests == len(cases)
            assert suite.failures == sum(c["status"] == "fail" for c in ex["checks"])
            assert suite.errors == sum(c["status"] == "error" for c in ex["checks"])


def test_junit_is_xml_safe_for_any_student_text(xsd, tmp_path):
    """Control characters, lone surrogates and U+FFFE in a message still give valid XML."""
    from grader.report import junit
    from grader.results import CheckResult, ExerciseResult, Report
    nasty = "a\x00b\x1bc\ud800d\ufffee\r\n::error::x ##[warning]y"
    ex = ExerciseResult("ex01", "sigmoid", "p", [CheckResult("sigmoid_values", "value", "error",
                                                             0.0, 3.0, 0.1, nasty)])
    path = tmp_path / "j.xml"
    junit.write(Report(seed=1, device="cpu", exercises=[ex]), path)
    xsd.validate(str(path))
    text = path.read_text(encoding="utf-8")
    assert "\\x00" in text and "\\ud800" in text and "\\x1b" in text
    assert "\n::error" not in text and "##[warning]" not in text


def test_xsd_accepts_pytests_own_junit_and_rejects_broken_files(xsd, tmp_path):
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError('x')\n\n"
        "def test_ok():\n    pass\n\ndef test_bad():\n    assert 0\n\n"
        "def test_err(broken):\n    pass\n\n@pytest.mark.skip\ndef test_skip():\n    pass\n")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "--junitxml=out.xml", "-o", "junit_family=xunit2", "test_sample.py"],
                   cwd=tmp_path, capture_output=True, timeout=120)
    xsd.validate(str(tmp_path / "out.xml"))
    broken = (tmp_path / "out.xml").read_text().replace('tests="4"', 'tests="four"')
    assert not xsd.is_valid(broken)
    assert not xsd.is_valid('<testsuites><testsuite name="x" tests="1" failures="0" errors="0">'
                            '<testcase name="a"><failure/><error/></testcase></testsuite></testsuites>')


def test_gradescope_validates_and_adds_up(graded, gradescope_schema):
    for name, (repo, _) in graded.items():
        data = json.loads((repo / "gs.json").read_text())
        errors = sorted(gradescope_schema.iter_errors(data), key=str)
        assert not errors, f"{name}: {errors[0]}"
        report = json.loads((repo / "r.json").read_text())
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
        assert data["score"] == report["score"]
        assert sum(t["max_score"] for t in data["tests"]) == report["max_score"]
        checks = [(e, c) for e in report["exercises"] for c in e["checks"]]
        judged = [c for _, c in checks if c["status"] != "skip"]
        skipped = [f"{e['id']}.{c['name']}" for e, c in checks if c["status"] == "skip"]
        if name in ("correct", "buggy"):  # --no-perf: the performance checks are skipped
            assert skipped
        # A skipped check is no test (Gradescope would show 0 of 0 as passed); it is named in
        # the top-level output and in extra_data instead.
        assert len(data["tests"]) == len(judged)
        assert data["extra_data"]["skipped"] == skipped
        assert ("Not judged here" in data["output"]) == bool(skipped)
        for name in skipped:
            assert name.split(".")[1] in data["output"]
            assert not any(t["name"].endswith(": " + name.split(".")[1]) for t in data["tests"])
        for t, c in zip(data["tests"], judged):
            assert t["status"] == ("passed" if c["status"] == "pass" else "failed")
            assert t["score"] == c["score"] and t["max_score"] == c["max_score"]
            assert t["extra_data"]["dlgrade_status"] == c["status"]
            if c["status"] in ("fail", "error"):
                assert t["output"].startswith(c["status"] + ": ")
        assert "leaderboard" not in data  # only when the course asks for it


def test_gradescope_leaderboard_when_the_course_asks(tmp_path, gradescope_schema):
    """``[gradescope] leaderboard = true`` in dlgrade.toml: one entry per timed function of each
    passing performance check, the value being what that check measured (its ``metrics`` in the
    JSON report), lower is better."""
    repo = _repo(tmp_path, "lb", (ROOT / "solutions" / "ex01_sigmoid.py").read_text())
    course = tmp_path / "course.toml"  # the course's file: one in the repository is ignored
    course.write_text("[gradescope]\nleaderboard = true\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")}
    proc = subprocess.run([*DLGRADE, "check", "ex01", "--seed", "5", "--json", "r.json",
                           "--gradescope", "gs.json", "--config", str(course)], cwd=repo, capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads((repo / "gs.json").read_text())
    assert not list(gradescope_schema.iter_errors(data))
    report = json.loads((repo / "r.json").read_text())
    want = [{"name": f"ex01 {unit} (x reference)", "value": m["ratio"], "order": "asc"}
            for e in report["exercises"] for c in e["checks"]
            if c["kind"] == "performance" and c["status"] == "pass"
            for unit, m in c.get("metrics", {}).items()]
    assert data["leaderboard"] == want
    perf = next(c for c in report["exercises"][0]["checks"] if c["name"] == "performance")
    if perf["status"] == "pass":  # a loaded machine may fail the timing: then no entry
        assert want and all(m["value"] > 0 for m in want)
    # Built from a report directly (no timing noise): the CPU ratio and the CUDA milliseconds.
    from grader.report import gradescope
    from grader.results import CheckResult, ExerciseResult, Report
    checks = [CheckResult("performance", "performance", "pass", 1.0, 1.0,
                          metrics={"conv_forward[batch]": {"ratio": 2.5, "ms": 1.2}}),
              CheckResult("cuda_performance", "performance", "pass", 1.0, 1.0,
                          metrics={"conv_forward": {"ratio": 3.0, "ms": 0.25}}),
              CheckResult("op_count", "performance", "fail", 0.0, 1.0, message="loop")]
    rep = Report(seed=1, device="cuda", exercises=[ExerciseResult("ex06", "conv", "p", checks)])
    built = gradescope.build(rep, with_leaderboard=True)
    assert not list(gradescope_schema.iter_errors(built))
    assert built["leaderboard"] == [
        {"name": "ex06 conv_forward[batch] (x reference)", "value": 2.5, "order": "asc"},
        {"name": "ex06 conv_forward (CUDA ms)", "value": 0.25, "order": "asc"}]
    bad = dict(built, leaderboard=[{"name": "x", "value": 1, "order": "up"}])
    assert not gradescope_schema.is_valid(bad)


def test_gradescope_schema_rejects_undocumented_keys(gradescope_schema):
    assert not gradescope_schema.is_valid({"tests": [{"name": "x"}]})  # no score anywhere
    assert not gradescope_schema.is_valid({"score": 1, "max_score": 2})
    assert not gradescope_schema.is_valid({"score": 1, "tests": [{"score": 1, "status": "error"}]})
    assert not gradescope_schema.is_valid({"score": 1, "visibility": "public"})
    assert gradescope_schema.is_valid({"tests": [{"score": 1, "max_score": 1}]})


def test_student_output_cannot_issue_workflow_commands(graded):
    """Nothing a student printed or raised starts a log line with '::' or holds '##['."""
    for name in ("hostile", "exits"):
        repo, proc = graded[name]
        log = proc.stdout + proc.stderr
        assert "pwned" in log or "bye" in log or "injected" in log, log[-3000:]
        for line in log.splitlines():
            stripped = line.strip()
            if stripped.startswith("::"):
                # only dlgrade's own annotations, which carry no student text
                assert stripped.startswith(("::error title=dlgrade ", "::notice title=dlgrade ")), line
                assert "pwned" not in line and "injected" not in line and "bye" not in line
            assert "##[" not in line and "\x1b" not in line and "\r" not in line
        summary = (repo / "summary.md").read_text()
        for line in summary.splitlines():
            assert not line.lstrip().startswith("::") and "##[" not in line
        assert "<b>bold</b>" not in summary
        # Outside the escaped <pre> blocks (raw HTML blocks: no markdown inside) no student
        # markdown survives either.
        outside = re.sub(r"(?ms)^<pre>.*?</pre>$", "", summary)
        assert "![i](" not in outside and "`code`" not in outside


def test_step_summary_appends_a_readable_section(graded):
    repo, _ = graded["buggy"]
    text = (repo / "summary.md").read_text()
    report = json.loads((repo / "r.json").read_text())
    assert text.startswith(f"## ❌ dlgrade: {report['score']:g} / {report['max_score']:g} points")
    assert "dlgrade check ex01 --seed 5" in text
    for c in report["exercises"][0]["checks"]:
        assert c["name"].replace("_", "\\_") in text
    repo, _ = graded["correct"]
    report = json.loads((repo / "r.json").read_text())
    assert report["score"] == report["max_score"] > 0
    assert (repo / "summary.md").read_text().startswith(
        f"## ✅ dlgrade: {report['score']:g} / {report['max_score']:g} points")


def test_summary_markdown_escapes_structure():
    from grader.report.summary import md_escape
    out = md_escape("a|b ![x](http://e) <script> `c` *d*\nnext")
    assert "|" not in out.replace("\\|", "")
    assert "<script>" not in out and "![x](" not in out and "\n" not in out
    assert out.endswith("next")


@pytest.mark.parametrize("args, fragment", [
    (["--junit-xml", "-"], "--junit-xml needs a file name"),
    (["--gradescope", "nowhere/x/gs.json"], "not a writable folder"),
    (["--junit-xml", "."], "it is a folder"),
])
def test_report_paths_are_validated_before_grading(tmp_path, args, fragment):
    repo = _repo(tmp_path, "r", (ROOT / "solutions" / "ex01_sigmoid.py").read_text())
    proc = _check(repo, *args)
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "grading" not in proc.stdout  # refused before any student code ran


def test_annotations_only_under_github_actions(graded):
    _, quiet = graded["buggy"]
    assert "::error" not in quiet.stdout and "::notice" not in quiet.stdout
    _, loud = graded["hostile"]
    lines = [ln for ln in loud.stdout.splitlines() if ln.startswith("::error ")]
    assert len(lines) == 1 and "sigmoid_values" in lines[0] and "%3A" in lines[0]
    repo, fine = graded["correct"]
    total = json.loads((repo / "r.json").read_text())["max_score"]
    assert [ln for ln in fine.stdout.splitlines() if ln.startswith("::")] == [
        f"::notice title=dlgrade ex01 sigmoid%3A {total:g}/{total:g} points::every check passed"]


@pytest.mark.parametrize("text", [
    "::error::x", "   ::error::x", "\t::warning file=a::x", "\u3000::error::x", "\u00a0::error::x",
    "ok\n  ::add-mask::secret", "prefix ##[error]x", "##vso[task.setvariable]x", "a\r::error::x",
    "\x1b]0;title\x07::error::x",
])
def test_neutralise_defeats_the_runner_rules(text):
    """GitHub's runner: TrimStart() then StartsWith("::"); legacy "##[" and Azure "##vso[" match
    anywhere in a line; a line ends only at LF (CR is escaped)."""
    from grader.report.terminal import neutralise
    out = neutralise(text)
    for line in out.split("\n"):
        assert not line.lstrip().startswith("::")
        assert "##[" not in line and "##vso[" not in line
        assert "\r" not in line and "\x1b" not in line and "\x07" not in line
    assert neutralise("plain text: a::b") == "plain text: a::b"
