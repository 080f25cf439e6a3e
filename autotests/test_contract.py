"""docs/contract.md (the contract this project follows, kept in the repository) and the exercise
registry agree: every registered exercise has a row with its module, backend, functions and
parameter names, and every row of the contract's exercise tables is registered (except the ids in
:data:`NOT_YET_BUILT`, which the lead empties as those exercises are merged).

The functions column is read as the contract writes it: a backticked ``name(params) -> ...`` is a
function with its parameters (defaults dropped); a backticked bare ``(params) -> ...`` gives the
parameters of the backticked names that follow it with a colon (ex09's three update rules, "each
``(w, dw, config=None) -> (next_w, config)``"). Cells are split on unescaped ``|`` with the
functions column taken as everything between the backend and the last column, so a formula
holding ``|x|`` cannot shift the columns.
"""
from __future__ import annotations

import re

import pytest

from conftest import ROOT
from grader.exercises import all_exercises

CONTRACT = ROOT / "docs" / "contract.md"
#: Contract rows whose exercise is not merged yet (emptied by the lead as they land).
NOT_YET_BUILT: tuple[str, ...] = ()
_SPAN = re.compile(r"`([^`]*)`")
_SIGNATURE = re.compile(r"^(\w+)?\((.*?)\)\s*(?:->|$)")


def _params(text: str) -> tuple[str, ...]:
    return tuple(p.split("=")[0].strip() for p in text.split(",") if p.strip())


def contract_rows(text: str) -> dict:
    """``{id: {"module", "backend", "functions": {name: params}}}`` of every exercise table row."""
    rows = {}
    for line in text.splitlines():
        if not re.match(r"^\| ex\d\d \|", line):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        ex_id, module, backend = cells[0], cells[1], cells[2]
        column = "|".join(cells[3:-1])
        functions, generic = {}, None
        for m in _SPAN.finditer(column):
            span = m.group(1)
            sig = _SIGNATURE.match(span)
            if sig and sig.group(1):
                functions[sig.group(1)] = _params(sig.group(2))
            elif sig:
                generic = _params(sig.group(2))
            elif generic is not None and re.fullmatch(r"\w+", span) \
                    and column[m.end():m.end() + 1] == ":":
                functions[span] = generic
        rows[ex_id] = {"module": module, "backend": backend, "functions": functions}
    return rows


@pytest.fixture(scope="module")
def rows():
    assert CONTRACT.is_file(), "docs/contract.md is the contract in the repository"
    found = contract_rows(CONTRACT.read_text(encoding="utf-8"))
    assert {"ex01", "ex08"} <= set(found)
    return found


def test_every_registered_exercise_matches_its_contract_row(rows):
    for ex in all_exercises():
        assert ex.id in rows, f"{ex.id} is registered but has no row in docs/contract.md"
        row = rows[ex.id]
        assert row["module"] == ex.filename, ex.id
        assert row["backend"] == ex.backend, ex.id
        got = {f.name: tuple(f.params) for f in ex.functions}
        assert got == row["functions"], (ex.id, got, row["functions"])


def test_every_contract_row_is_registered(rows):
    registered = {ex.id for ex in all_exercises()}
    missing = sorted(set(rows) - registered - set(NOT_YET_BUILT))
    assert not missing, f"in docs/contract.md but not registered: {missing}"
    built = sorted(set(NOT_YET_BUILT) & registered)
    assert not built, f"registered now: remove {built} from NOT_YET_BUILT"


def test_the_parser_reads_every_row_of_the_contract(rows):
    """The rows as the contract spells them, including the second wave (ex09's generic
    signature, ex12's ``|X·w + b|``, ex13's three functions), so the check cannot pass on a
    row it failed to read."""
    assert sorted(rows) == [f"ex{n:02d}" for n in range(1, 14)]
    assert rows["ex09"]["functions"] == {
        "sgd_momentum_update": ("w", "dw", "config"), "rmsprop_update": ("w", "dw", "config"),
        "adam_update": ("w", "dw", "config")}
    assert rows["ex12"]["functions"] == {
        "logistic_loss": ("w", "b", "X", "y", "reg"),
        "train_logistic": ("X", "y", "learning_rate", "num_iters", "reg")}
    assert rows["ex12"]["backend"] == "numpy"
    assert rows["ex13"]["functions"] == {
        "rnn_forward": ("x", "h0", "Wx", "Wh", "b"), "rnn_backward": ("dh", "cache"),
        "clip_grad_norm": ("grads", "max_norm")}
    assert rows["ex01"]["functions"] == {"sigmoid": ("z",), "sigmoid_grad": ("z",)}
    assert rows["ex06"]["functions"]["conv_forward"] == ("x", "w", "b", "stride", "pad")


def test_a_drifted_registry_is_caught(rows):
    """A renamed parameter or function, as a registry edit would make it, no longer matches."""
    text = CONTRACT.read_text(encoding="utf-8").replace("dropout_forward(x, p, train, rng)",
                                                        "dropout_forward(x, p, mode, rng)")
    assert contract_rows(text)["ex04"]["functions"]["dropout_forward"] != \
        rows["ex04"]["functions"]["dropout_forward"]


def test_docs_point_to_the_contract_in_the_repository():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert "shared/CONTRACT.md" not in text, doc
    assert "docs/contract.md" in (ROOT / "README.md").read_text(encoding="utf-8")
