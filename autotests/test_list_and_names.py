"""`dlgrade list` at 80 columns, counting points as `dlgrade check` does; "did you mean" for a
misspelt exercise; the course configuration packaged with the grader and its [gradescope] table."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from grader.exercises import UnknownExercise, all_exercises, resolve

DLGRADE = [sys.executable, "-m", "grader.cli"]


def _run(*args, cwd=ROOT, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    full.update(env)
    return subprocess.run([*DLGRADE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=full)


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    """A repository with ex01 (solved) and ex06 (skeleton) only, listed at 80 columns and graded
    with `dlgrade check ex01 ex06` (performance on, CPU) for the points."""
    repo = tmp_path_factory.mktemp("list")
    (repo / "exercises").mkdir()
    (repo / "exercises" / "ex01_sigmoid.py").write_text((ROOT / "solutions" / "ex01_sigmoid.py")
                                                       .read_text())
    (repo / "exercises" / "ex06_conv.py").write_text((ROOT / "exercises" / "ex06_conv.py")
                                                     .read_text())
    out = _run("list", cwd=repo, COLUMNS="80")
    check = _run("check", "ex01", "ex06", "--seed", "2", "--json", "r.json", cwd=repo)
    assert check.returncode in (0, 1), check.stdout[-2000:] + check.stderr[-2000:]
    return out, json.loads((repo / "r.json").read_text())


def test_list_is_readable_at_80_columns(listed):
    out, _ = listed
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= 80, max(lines, key=len)
    assert "…" not in out.stdout  # nothing cut short
    for ex in all_exercises():
        assert any(ln.split()[:1] == [ex.id] for ln in lines), ex.id
        for f in ex.functions:  # every function name whole, on a line of its own
            assert any(ln.strip() == f.name for ln in lines), f.name
    assert "exercises/ex01_sigmoid.py" in out.stdout and "exercises/ex06_conv.py" in out.stdout
    assert out.stdout.count("missing") == len(all_exercises()) - 2


def test_list_counts_points_as_check_does(listed):
    """The points column is the max_score `dlgrade check` reports (the CUDA checks skip on a
    CPU and count neither way), and the total line adds them up."""
    out, report = listed
    rows = {ln.split()[0]: ln.split() for ln in out.stdout.splitlines()
            if ln.split() and ln.split()[0].startswith("ex")}
    for ex in report["exercises"]:
        assert float(rows[ex["id"]][3]) == ex["max_score"], (ex["id"], rows[ex["id"]])
    from grader.release import judged_points
    total = sum(judged_points(e) for e in all_exercises())
    assert f"total {total:g} points" in out.stdout
    cuda = sum(c.points for e in all_exercises() for c in e.checks if c.name.startswith("cuda_"))
    if cuda:
        assert f"{cuda:g} more with a GPU" in out.stdout
    quiet = _run("list", "--no-perf", COLUMNS="80")
    assert f"total {sum(judged_points(e, perf=False) for e in all_exercises()):g} points" \
        in quiet.stdout


@pytest.mark.parametrize("typo, suggestion", [("dropuot", "dropout"), ("sigmiod", "sigmoid"),
                                              ("ex4_dropout", "ex04_dropout"), ("atention", "attention")])
def test_a_misspelt_exercise_gets_did_you_mean(typo, suggestion):
    with pytest.raises(UnknownExercise) as info:
        resolve(typo)
    message = info.value.args[0]
    assert f"(did you mean '{suggestion}'?)" in message  # one name per exercise
    assert "known: ex01 (sigmoid)" in message


def test_naming_one_exercise_imports_only_its_module():
    """resolve() imports the named exercise's module alone (all thirteen cost ~70 ms of every
    `dlgrade check exNN`), by each spelling; an unknown name still lists every exercise."""
    code = ("import sys\nfrom grader.exercises import resolve\n"
            "for name in ('ex04', '4', 'EX04', 'dropout', 'ex04_dropout', 'ex4.py'):\n"
            "    assert resolve(name).id == 'ex04', name\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('grader.exercises.ex')\n"
            "                and m.count('.') == 2)\n"
            "print(loaded)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['grader.exercises.ex04_dropout']"
    with pytest.raises(UnknownExercise, match="ex13 \\(rnn\\)"):
        resolve("ex14")


def test_did_you_mean_on_the_command_line_and_not_for_nonsense():
    proc = _run("check", "dropuot")
    assert proc.returncode == 2 and "did you mean 'dropout'?" in proc.stderr
    with pytest.raises(UnknownExercise) as info:
        resolve("qqqq")
    assert "did you mean" not in info.value.args[0]
    plugin = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                             "--dlgrade", "lstn", "--collect-only"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert plugin.returncode == 4 and "did you mean 'lstm'?" in plugin.stderr


def test_a_packaged_course_configuration_comes_first(tmp_path, monkeypatch):
    """grader/course/dlgrade.toml (what `dlgrade release` packages into the wheel) is the
    configuration even where the current folder has a dlgrade.toml of its own."""
    from grader import config
    packaged = tmp_path / "packaged.toml"
    packaged.write_text("[exercises.ex01]\npoints = { sigmoid_values = 5 }\n")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "dlgrade.toml").write_text("[exercises.ex01]\npoints = "
                                                    "{ sigmoid_values = 100 }\n")
    (tmp_path / "alice").mkdir()
    assert config.find(tmp_path / "alice", cwd=tmp_path / "repo") == tmp_path / "repo" / "dlgrade.toml"
    monkeypatch.setattr(config, "PACKAGED", packaged)
    found = config.find(tmp_path / "alice", cwd=tmp_path / "repo")
    assert found == packaged
    assert config.load(found).points == {"ex01": {"sigmoid_values": 5.0}}


def test_the_gradescope_table_is_validated(tmp_path):
    from grader import config
    good = tmp_path / "good.toml"
    good.write_text("[gradescope]\nleaderboard = true\n")
    assert config.load(good).leaderboard is True
    assert config.load(None).leaderboard is False
    for text, fragment in (("[gradescope]\nleaderboard = 'yes'\n", "must be true or false"),
                           ("[gradescope]\nboard = true\n", "unknown key 'board'")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(config.ConfigError, match=fragment):
            config.load(bad)
