"""The oracle engine: an apply model that always writes the expected file, for measuring drafts."""
from __future__ import annotations

import pytest

from fastapply import prompt
from fastapply.applier import Applier
from fastapply.evals.oracle import OracleEngine
from fastapply.evals.runner import AUTO, MODEL, run_eval
from fastapply.settings import Settings
from test_eval_report import TASKS
from toy_engine import ScriptedEngine


class Chars(ScriptedEngine):
    """A character-level tokenizer (ids are code points, EOS 0)."""

    def __init__(self):
        super().__init__("")


def test_the_docstring_example():
    tok = Chars()
    oracle = OracleEngine(tok, {tuple(tok.tokenize("PQ")): "ab"})
    script = tok.tokenize(prompt.expected_answer("ab"))  # "ab\n</updated-code>" as ids
    assert oracle.forward(tok.tokenize("PQ"), last_only=True).tokens.tolist() == script[:1]
    # The pending token, then a draft whose second token is wrong: positions choose the script.
    chosen = oracle.forward([script[0], script[1], ord("z")]).tokens.tolist()
    assert chosen == script[1:4]
    oracle.truncate(2)
    assert oracle.n_past == 2


def test_an_unknown_prompt_is_an_error_not_a_guess():
    tok = Chars()
    with pytest.raises(KeyError):
        OracleEngine(tok, {}).forward(tok.tokenize("PQ"), last_only=True)


def oracle_applier(tasks, **settings) -> Applier:
    """An Applier whose model writes each task's expected file."""
    tok = Chars()
    probe = Applier(Settings(**settings), engine=tok)
    answers = {tuple(probe.prompt_tokens(t.original, t.snippet, t.instruction)): t.expected for t in tasks}
    return Applier(Settings(**settings), engine=OracleEngine(tok, answers))


def test_a_perfect_model_is_exact_and_the_merge_draft_saves_passes():
    tasks = TASKS[:3]  # all placeable by the merge
    records = run_eval(tasks, [MODEL, AUTO], applier=oracle_applier(tasks, auto_prefer="model"))
    assert all(r["exact"] and r["source"] == "model" for r in records)
    passes = {(r["task"], r["method"]): r["stats"]["forward_passes"] for r in records}
    for t in tasks:
        assert passes[(t.id, AUTO)] < passes[(t.id, MODEL)]
