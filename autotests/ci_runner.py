"""Run a generated CI job on this machine the way its runner would (for test_workflow_run.py).

GitHub Actions (:func:`run_github_job`): the workflow is parsed with PyYAML and its one job's
steps run in order. ``run:`` steps go to ``bash -e {file}`` (the runner's default shell on Linux
when a step names none) in ``$GITHUB_WORKSPACE`` with the variables a runner sets (``CI``,
``GITHUB_ACTIONS``, ``GITHUB_WORKSPACE``, ``RUNNER_TEMP``, and per step fresh
``GITHUB_OUTPUT``/``GITHUB_ENV``/``GITHUB_PATH``/``GITHUB_STEP_SUMMARY`` files, read back after
the step as the runner does: ``name=value`` and ``name<<DELIMITER`` blocks). ``uses:`` steps are
stood in for by what they do here: ``actions/checkout`` clones the repository into the
workspace; ``actions/setup-python`` creates a fresh virtual environment of the current
interpreter (its ``python-version`` must match) and puts it first on ``PATH`` (``cache: pip``
caches nothing, but its ``cache-dependency-path`` files must exist, or setup-python fails);
``actions/upload-artifact`` records which of its paths exist;
``classroom-resources/autograding-grading-reporter`` does what its ``src/main.js`` and
``src/notify-classroom.js`` do with their input: for each runner id, base64-decode
``<ID>_RESULTS`` as JSON, total ``tests[].score`` over ``max_score``, and fail the step when a
result's status is ``fail`` or ``error``. ``if:`` takes ``always()``, ``success()``,
``failure()`` or nothing (success); ``${{ steps.ID.outputs.NAME }}`` is the only expression
evaluated. Anything else fails the test rather than being guessed.

GitLab CI (:func:`run_gitlab_job`): the job's ``image: python:X.Y-slim`` is stood in for by a
fresh virtual environment of the current interpreter, the repository is cloned into
``$CI_PROJECT_DIR``, the job's ``variables`` are expanded against GitLab's predefined ones
(``CI``, ``GITLAB_CI``, ``CI_PROJECT_DIR``, ...), and its ``script`` lines run in one
``bash`` with ``set -eo pipefail``, as the runner's generated script does.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_OUTPUT_REF = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")
#: Variables of this test process that a fresh runner would not have.
_DROP = re.compile(r"^(VIRTUAL_ENV|PYTHONPATH|PYTHONHOME|PYTEST_.*|GITHUB_.*|RUNNER_.*|CI|CI_.*|"
                   r"GITLAB_.*|COV_.*)$")


@dataclass
class Step:
    """What one step did: ``outcome`` is ``success``, ``failure`` or ``skipped``."""

    name: str
    id: str | None
    outcome: str
    log: str = ""
    outputs: dict = field(default_factory=dict)
    summary: str = ""
    extra: dict = field(default_factory=dict)


def base_env(home: Path | None = None) -> dict:
    """This machine's environment as a fresh runner would see it: no virtual environment of this
    test run on ``PATH``, no CI variables; pip's own configuration (the local mirror) is kept."""
    env = {k: v for k, v in os.environ.items() if not _DROP.match(k)}
    ours = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and p != ours) or "/usr/bin:/bin"
    if home is not None:
        env["HOME"] = str(home)
    return env


def read_file_command(path: Path) -> dict:
    """``GITHUB_OUTPUT``/``GITHUB_ENV`` as the runner reads them: ``k=v`` lines and heredocs."""
    out, lines, i = {}, path.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[key] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


def fresh_python(where: Path, requested: str) -> Path:
    """A new virtual environment of the interpreter running the tests (setup-python, or the
    ``python:X.Y`` image), with pip; ``requested`` (``"3.11"``) must be this interpreter's."""
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    if str(requested) != mine:
        raise AssertionError(f"the job asks for Python {requested}; the tests run {mine}")
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    return where / "bin"


def _expand(text, steps: dict) -> str:
    def one(m):
        ref = _OUTPUT_REF.fullmatch(m.group(1))
        if not ref:
            raise NotImplementedError(f"expression not emulated: {m.group(0)}")
        done = steps.get(ref.group(1))
        return done.outputs.get(ref.group(2), "") if done else ""
    return _EXPR.sub(one, str(text))


def _should_run(condition, failed: bool) -> bool:
    cond = (condition or "success()").strip()
    if cond.startswith("${{") and cond.endswith("}}"):
        cond = cond[3:-2].strip()
    if cond == "always()":
        return True
    if cond == "success()":
        return not failed
    if cond == "failure()":
        return failed
    raise NotImplementedError(f"step condition not emulated: {condition!r}")


def _reporter(step: dict, env: dict) -> Step:
    """classroom-resources/autograding-grading-reporter's main.js + notify-classroom.js."""
    results, total, maximum = [], 0.0, 0.0
    for runner in str(step["with"]["runners"]).split(","):
        encoded = env.get(f"{runner.strip().upper()}_RESULTS")
        if not encoded:
            return Step(step["name"], step.get("id"), "failure",
                        "The runners input must be a comma-separated list of strings.")
        result = json.loads(base64.b64decode(encoded).decode("utf-8"))
        results.append(result)
        if result.get("max_score"):
            maximum += result["max_score"]
            total += sum(t["score"] for t in result["tests"])
    failed = any(r["status"] in ("fail", "error") for r in results)
    return Step(step["name"], step.get("id"), "failure" if failed else "success",
                f"Points {total:g}/{maximum:g}",
                extra={"results": results, "points": (total, maximum)})


def run_github_job(workflow: Path, repo: str, root: Path, overrides: dict | None = None,
                   actor: str = "student", timeout: float = 900) -> list[Step]:
    """Run the one job of ``workflow`` on a clone of ``repo`` under ``root`` (see the module
    docstring); ``overrides`` replace job variables (the test's local torch index)."""
    import yaml
    doc = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    (job,) = doc["jobs"].values()
    cond = job.get("if")
    if cond is not None:
        m = re.fullmatch(r"github\.actor != '([^']*)'", cond.strip())
        if not m:
            raise NotImplementedError(f"job condition not emulated: {cond!r}")
        if actor == m.group(1):
            return []
    workspace, temp = root / "workspace", root / "runner_temp"
    temp.mkdir(parents=True)
    env = base_env()
    env.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
                "RUNNER_TEMP": str(temp), "RUNNER_OS": "Linux", "GITHUB_ACTOR": actor,
                "GITHUB_REPOSITORY": "course/student", "GITHUB_RUN_ID": "1",
                "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"})
    for scope in (doc.get("env") or {}, job.get("env") or {}):
        env.update({k: str(v) for k, v in scope.items()})
    for key, value in (overrides or {}).items():
        assert key in env, f"{key} is not a variable of the job: nothing to override"
        env[key] = value
    done: dict[str, Step] = {}
    steps: list[Step] = []
    failed = False
    for n, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or step.get("run", "")[:40]
        if not _should_run(step.get("if"), failed):
            steps.append(Step(name, step.get("id"), "skipped"))
            continue
        step_env = dict(env)
        step_env.update({k: _expand(v, done) for k, v in (step.get("env") or {}).items()})
        files = {var: temp / f"_{var.lower()}_{n}" for var in
                 ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
        for var, path in files.items():
            path.write_text("")
            step_env[var] = str(path)
        if "uses" in step:
            result = _uses(step, step_env, repo, workspace, temp)
        else:
            script = temp / f"step_{n}.sh"
            script.write_text(_expand(step["run"], done) + "\n")
            proc = subprocess.run(["bash", "-e", str(script)], cwd=workspace, env=step_env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=timeout)
            result = Step(name, step.get("id"), "success" if proc.returncode == 0 else "failure",
                          proc.stdout, extra={"exit_code": proc.returncode})
        result.name = name
        result.outputs.update(read_file_command(files["GITHUB_OUTPUT"]))
        result.summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        env.update(read_file_command(files["GITHUB_ENV"]))
        for line in files["GITHUB_PATH"].read_text().splitlines():
            if line.strip():
                env["PATH"] = line.strip() + os.pathsep + env["PATH"]
        if "path" in result.extra:
            env["PATH"] = result.extra["path"] + os.pathsep + env["PATH"]
        failed = failed or result.outcome == "failure"
        steps.append(result)
        if step.get("id"):
            done[step["id"]] = result
    return steps


def _uses(step: dict, env: dict, repo: str, workspace: Path, temp: Path) -> Step:
    action = step["uses"].split("@")[0]
    with_ = {k: _expand(v, {}) for k, v in (step.get("with") or {}).items()}
    name, sid = step.get("name", action), step.get("id")
    if action == "actions/checkout":
        proc = subprocess.run(["git", "clone", "-q", repo, str(workspace)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return Step(name, sid, "success" if proc.returncode == 0 else "failure", proc.stdout)
    if action == "actions/setup-python":
        if with_.get("cache") == "pip":
            for pattern in str(with_.get("cache-dependency-path", "requirements.txt")).split():
                if not list(workspace.glob(pattern)):
                    return Step(name, sid, "failure", f"No file matched to [{pattern}]")
        bin_dir = fresh_python(temp / "python", with_["python-version"])
        return Step(name, sid, "success", f"python {with_['python-version']} at {bin_dir}",
                    extra={"path": str(bin_dir)})
    if action == "actions/upload-artifact":
        paths = [p for p in str(with_["path"]).split() if p]
        present = [p for p in paths if (workspace / p).is_file()]
        return Step(name, sid, "success", f"uploaded {present}", extra={"uploaded": present,
                                                                          "asked": paths})
    if action == "classroom-resources/autograding-grading-reporter":
        return _reporter({**step, "with": with_}, env)
    raise NotImplementedError(f"action not emulated: {step['uses']}")


def run_gitlab_job(ci_file: Path, job_name: str, repo: str, root: Path,
                   overrides: dict | None = None, timeout: float = 900) -> dict:
    """Run ``job_name`` of ``ci_file`` on a clone of ``repo`` under ``root`` (module docstring).

    Returns:
        ``{"exit_code", "log", "project_dir", "artifacts": {path: exists}, "job": the job}``.
    """
    import yaml
    job = yaml.safe_load(ci_file.read_text(encoding="utf-8"))[job_name]
    image = re.fullmatch(r"python:(\d+\.\d+)-slim", job["image"])
    assert image, f"image not emulated: {job['image']}"
    project = root / "project"
    env = base_env()
    env.update({"CI": "true", "GITLAB_CI": "true", "CI_SERVER": "yes", "CI_PROJECT_DIR":
                str(project), "CI_JOB_NAME": job_name, "CI_JOB_ID": "1", "CI_PIPELINE_ID": "1",
                "CI_COMMIT_REF_NAME": "main"})
    for key, value in (job.get("variables") or {}).items():
        env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), str(value))
    for key, value in (overrides or {}).items():
        assert key in env, f"{key} is not a variable of the job: nothing to override"
        env[key] = value
    clone = subprocess.run(["git", "clone", "-q", repo, str(project)], env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert clone.returncode == 0, clone.stdout
    env["PATH"] = str(fresh_python(root / "image-python", image.group(1))) + os.pathsep + env["PATH"]
    script = root / "script.sh"
    script.write_text("set -eo pipefail\n" + "\n".join(job["script"]) + "\n")
    proc = subprocess.run(["bash", str(script)], cwd=project, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    paths = job["artifacts"]["paths"]
    return {"exit_code": proc.returncode, "log": proc.stdout, "project_dir": project, "job": job,
            "env": env, "artifacts": {p: (project / p).is_file() for p in paths}}
