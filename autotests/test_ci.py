"""`dlgrade ci init` workflows pass their CI schemas; `dlgrade ci classroom` speaks Classroom's format.

The GitHub workflow is validated with ``check-jsonschema --builtin-schema vendor.github-workflows``
and the GitLab one with ``vendor.gitlab-ci`` (the schemas check-jsonschema ships from
SchemaStore); a broken workflow must fail the same validation, so the test cannot pass vacuously.
GitHub Classroom's reporter (classroom-resources/autograding-grading-reporter) decodes
``<RUNNER>_RESULTS`` as base64 JSON and reports ``sum(tests[].score) / max_score``: the tests
decode what dlgrade writes exactly as the reporter does and compare with the JSON report.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import ci

CHECK_JSONSCHEMA = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) \
    or shutil.which("check-jsonschema")
DLGRADE = [sys.executable, "-m", "grader.cli"]
WHEEL = f".dlgrade/dlgrade-{ci.__version__}-py3-none-any.whl"
VENDORED = ci.WorkflowOptions(vendored=WHEEL)


def _yaml(text: str):
    from ruamel.yaml import YAML  # check-jsonschema's own YAML parser
    return YAML(typ="safe").load(text)


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """Generate the workflows and validate them with check-jsonschema, both CLIs at once."""
    if CHECK_JSONSCHEMA is None:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[test]')")
    tmp = tmp_path_factory.mktemp("ci")
    github = []
    for name, opts in {"classroom": VENDORED,
                       "plain": ci.WorkflowOptions(classroom=False, torch_index="", perf=False,
                                                   install="dlgrade @ git+https://example.org/c/dlgrade@v1",
                                                   extra_index_url="https://pypi.example.org/simple")}.items():
        (tmp / name).mkdir()
        github.append(ci.init(tmp / name, "github", opts)[0])
    (tmp / "gl").mkdir()
    gitlab = ci.init(tmp / "gl", "gitlab", VENDORED)[0]
    procs = {"github": subprocess.Popen([CHECK_JSONSCHEMA, "--builtin-schema",
                                         "vendor.github-workflows", *map(str, github)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
             "gitlab": subprocess.Popen([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.gitlab-ci",
                                         str(gitlab)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)}
    results = {k: (p.communicate(timeout=300)[0], p.returncode) for k, p in procs.items()}
    return {"github": github, "gitlab": gitlab, "results": results, "root": tmp}


def test_github_workflows_pass_the_schema(validated):
    out, code = validated["results"]["github"]
    assert code == 0, out
    assert "validation done" in out


def test_gitlab_pipeline_passes_the_schema(validated):
    out, code = validated["results"]["gitlab"]
    assert code == 0, out
    target = validated["gitlab"]
    assert target == validated["root"] / "gl" / ".gitlab-ci.yml"
    job = _yaml(target.read_text())["dlgrade"]
    assert job["artifacts"]["reports"]["junit"] == ci.REPORT_JUNIT
    assert job["artifacts"]["when"] == "always"
    assert any(line.startswith("dlgrade check --all") and f"--junit-xml {ci.REPORT_JUNIT}" in line
               for line in job["script"])


def test_a_broken_workflow_fails_the_same_schema():
    """The vendored schema check-jsonschema used above rejects a workflow with a typo, so the
    validation cannot pass vacuously (checked in-process: one more CLI start costs seconds)."""
    jsonschema = pytest.importorskip("jsonschema")
    vendor = pytest.importorskip("check_jsonschema.builtin_schemas").__path__[0]
    schema = json.loads((Path(vendor) / "vendor" / "github-workflows.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    good = _yaml(ci.render("github", VENDORED))
    assert not list(validator.iter_errors(good))
    bad = _yaml(ci.render("github", VENDORED).replace("runs-on:", "runs_on:"))
    assert any("runs-on" in str(e.message) or "runs-on" in str(e.context)
               for e in validator.iter_errors(bad))
    no_steps = _yaml(ci.render("github", VENDORED))
    no_steps["jobs"]["run-autograding-tests"]["steps"][0]["uses"] = 5
    assert list(validator.iter_errors(no_steps))


def test_github_workflow_grades_uploads_and_reports_to_classroom():
    wf = _yaml(ci.render("github", VENDORED))
    job = wf["jobs"]["run-autograding-tests"]
    assert wf["name"] == job["name"] == "Autograding Tests"  # the check run Classroom's reporter updates
    assert wf["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    # The install spec is named once (the job's DLGRADE_INSTALL); torch is pinned, from the CPU
    # index, and pip's downloads are cached (keyed on the workflow and the vendored checksum).
    assert job["env"]["DLGRADE_INSTALL"] == WHEEL
    assert job["env"]["TORCH_VERSION"] == ci.TORCH_VERSION
    assert job["env"]["TORCH_INDEX_URL"] == ci.TORCH_CPU_INDEX
    assert ci.render("github", VENDORED).count(WHEEL) == 1
    steps = {s.get("id") or s["name"]: s for s in job["steps"]}
    setup = steps["Set up Python"]["with"]
    assert setup["cache"] == "pip"
    assert setup["cache-dependency-path"].split() == [".github/workflows/dlgrade.yml",
                                                      ".dlgrade/SHA256SUMS"]
    install = steps["Install dlgrade"]["run"].splitlines()
    assert install == ci.install_commands(VENDORED, "github")
    assert install[0].startswith("sha256sum --check --strict .dlgrade/SHA256SUMS || ")
    assert install[1] == ('python -m pip install "torch==$TORCH_VERSION" '
                          '${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}')
    assert install[2] == 'python -m pip install "$DLGRADE_INSTALL"'
    grade = steps["grade"]["run"]
    assert grade == ("dlgrade check --all --json dlgrade-report.json --junit-xml "
                     "dlgrade-junit.xml --gradescope dlgrade-gradescope.json")  # as locally
    upload = steps["Upload the reports"]
    assert upload["if"] == "always()" and upload["uses"].startswith("actions/upload-artifact@")
    assert set(upload["with"]["path"].split()) == {ci.REPORT_JSON, ci.REPORT_JUNIT, ci.REPORT_GRADESCOPE}
    assert steps["dlgrade"]["run"] == f"dlgrade ci classroom {ci.REPORT_JSON}"
    reporter = steps["Autograding Reporter"]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"] == "dlgrade"
    # The reporter reads process.env[`${runner.toUpperCase()}_RESULTS`].
    assert reporter["env"] == {"DLGRADE_RESULTS": "${{ steps.dlgrade.outputs.result }}"}
    plain = _yaml(ci.render("github", ci.WorkflowOptions(classroom=False, install="dlgrade==1")))
    names = [s["name"] for s in plain["jobs"]["run-autograding-tests"]["steps"]]
    assert "Autograding Reporter" not in names and "repository_dispatch" not in plain["on"]


def test_install_spec_is_named_once_and_passed_whole():
    spec = "dlgrade[extra] @ git+https://h/x"
    text = ci.render("github", ci.WorkflowOptions(install=spec, perf=False))
    wf = _yaml(text)
    job = wf["jobs"]["run-autograding-tests"]
    assert job["env"]["DLGRADE_INSTALL"] == spec and text.count(spec) == 1
    run = job["steps"][2]["run"].splitlines()
    assert run == ['python -m pip install "torch==$TORCH_VERSION" '
                   '${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}',
                   'python -m pip install "$DLGRADE_INSTALL"']  # nothing vendored: no checksum
    assert job["steps"][3]["run"].endswith(" --no-perf")
    assert job["steps"][1]["with"]["cache-dependency-path"].split() == [
        ".github/workflows/dlgrade.yml"]
    gl = _yaml(ci.render("gitlab", ci.WorkflowOptions(install=spec)))["dlgrade"]
    assert gl["variables"]["DLGRADE_INSTALL"] == spec
    assert gl["script"][:-1] == ci.install_commands(ci.WorkflowOptions(install=spec), "gitlab")
    with pytest.raises(ci.CIError, match="no grader to install"):
        ci.render("github", ci.WorkflowOptions())


def test_ci_init_writes_refuses_and_is_idempotent(tmp_path):
    """No grader to install is refused (exit 2); the same workflow again is "up to date"
    (exit 0, so `dlgrade release` then `dlgrade ci init` works); other content needs --force."""
    proc = subprocess.run([*DLGRADE, "ci", "init", "--path", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no grader to install" in proc.stderr
    target, written = ci.init(tmp_path, "github", ci.WorkflowOptions(install="dlgrade==1"))
    assert written and target.is_file()
    assert ci.init(tmp_path, "github", ci.WorkflowOptions(install="dlgrade==1")) == (target, False)
    with pytest.raises(ci.CIError, match="already exists"):
        ci.init(tmp_path, "github", ci.WorkflowOptions(install="dlgrade==2"))
    assert ci.init(tmp_path, "github", ci.WorkflowOptions(install="dlgrade==2"), force=True)[1]
    cmd = [*DLGRADE, "ci", "init", "--provider", "gitlab", "--path", str(tmp_path), "--install",
           "dlgrade==1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "wrote" in proc.stdout
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "is up to date" in proc.stdout
    proc = subprocess.run([*cmd[:-1], "dlgrade==3"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "already exists" in proc.stderr


def _report(statuses):
    checks = [{"name": f"c{i}", "kind": "value", "status": s, "score": 2.0 if s == "pass" else 0.0,
               "max_score": 0.0 if s == "skip" else 2.0, "duration_s": 0.0123,
               "message": "" if s == "pass" else f"{s}: ::error::from student\n##[warning]x"}
              for i, s in enumerate(statuses)]
    score = sum(c["score"] for c in checks)
    return {"dlgrade_version": "0", "seed": 1, "device": "cpu", "score": score,
            "max_score": sum(c["max_score"] for c in checks),
            "exercises": [{"id": "ex01", "name": "sigmoid", "path": "p", "score": score,
                           "max_score": sum(c["max_score"] for c in checks), "checks": checks}]}


def _reporter_points(result: dict):
    """What the reporter's NotifyClassroom computes: sum of tests' score over max_score."""
    return sum(t["score"] for t in result["tests"]), result["max_score"]


@pytest.mark.parametrize("statuses, status", [
    (["pass", "pass", "skip"], "pass"),
    (["pass", "fail", "error"], "fail"),
    (["pass", "error"], "error"),
])
def test_classroom_result_matches_the_report(statuses, status):
    report = _report(statuses)
    result = ci.classroom_result(report)
    decoded = json.loads(base64.b64decode(ci.encode_classroom(result)).decode("utf-8"))
    assert decoded == result
    assert result["version"] == 1 and result["status"] == status
    assert _reporter_points(result) == (report["score"], report["max_score"])
    assert len(result["tests"]) == sum(s != "skip" for s in statuses)
    for t in result["tests"]:
        assert t["status"] in ("pass", "fail", "error")
        assert t["execution_time"] == "12ms"
        for line in (t["message"] or "").splitlines():
            assert not line.lstrip().startswith("::") and "##[" not in line


def test_classroom_command_writes_github_output(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps(_report(["pass", "fail"])))
    out = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_OUTPUT": str(out)}
    proc = subprocess.run([*DLGRADE, "ci", "classroom", "r.json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    key, _, value = out.read_text().strip().partition("=")
    assert key == "result"
    result = json.loads(base64.b64decode(value))
    assert _reporter_points(result) == (2.0, 4.0)
    assert "2/4 points" in proc.stdout
    # No report at all (dlgrade crashed or was never installed): still a result, one error.
    proc = subprocess.run([*DLGRADE, "ci", "classroom", "missing.json", "--output", "o2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    result = json.loads(base64.b64decode((tmp_path / "o2").read_text().strip().split("=", 1)[1]))
    assert result["status"] == "error" and result["max_score"] == 0
    assert "missing.json is missing" in result["tests"][0]["message"]
