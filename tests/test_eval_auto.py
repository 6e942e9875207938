"""The eval's auto method: who wrote the file, and tokens per pass with and without the merge draft.

A scripted engine stands in for the model: `perfect` applies every edit (the merge of what
it was shown), `rambling` never closes its answer (what the small models do zero-shot).
"""
from __future__ import annotations

import re

from fastapply import prompt
from fastapply.applier import Applier
from fastapply.evals import report as rep
from fastapply.evals.runner import AUTO, MODEL, plan, run_eval
from fastapply.merge import merge
from fastapply.settings import Settings
from test_eval_report import TASKS
from toy_engine import PromptScriptedEngine


def perfect(prompt_text: str) -> str:
    code = re.search(r"<code>\n(.*?)</code>", prompt_text, re.S).group(1)
    update = re.search(r"<update>\n(.*?)</update>", prompt_text, re.S).group(1)
    merged = merge(code, update, path="t.py").text
    return prompt.expected_answer(merged if merged is not None else code)


def rambling(_prompt_text: str) -> str:
    return "Here is what I would change, step by step. " * 40


def applier(answer, **settings) -> Applier:
    return Applier(Settings(**settings), engine=PromptScriptedEngine(answer))


def test_auto_records_the_source_and_the_draft_effect(tmp_path):
    tasks = TASKS[:3]  # all placeable by the merge
    # auto_prefer="model": the model rewrites every file, with the merge as its draft.
    records = run_eval(tasks, [MODEL, AUTO], results=tmp_path / "r.jsonl", applier=applier(perfect, auto_prefer="model"))
    auto = [r for r in records if r["method"] == AUTO]
    assert [r["source"] for r in auto] == ["model"] * 3 and all(r["exact"] for r in records)
    draft = rep.aggregate(records)["draft"]
    assert draft["sources"] == {"model": 3} and draft["paired_tasks"] == 3
    assert draft["with_merge_draft"]["tokens_per_pass"] > draft["without_draft"]["tokens_per_pass"]
    text = rep.markdown(rep.aggregate(records))
    assert "without the merge draft (model)" in text and "auto" in text


def test_auto_falls_back_to_the_merge_when_the_model_rambles():
    records = run_eval(TASKS, [MODEL, AUTO], applier=applier(rambling, auto_prefer="model"))
    model = {r["task"]: r for r in records if r["method"] == MODEL}
    auto = {r["task"]: r for r in records if r["method"] == AUTO}
    assert not any(r["exact"] for r in model.values())
    assert {t: r["source"] for t, r in auto.items()} == {
        "t/small": "merge-fallback", "t/mid": "merge-fallback", "t/big": "merge-fallback", "t/lost": ""}
    assert auto["t/lost"]["failure"] == "did-not-finish"  # the merge refused too: nothing written
    assert all(auto[t]["exact"] for t in ("t/small", "t/mid", "t/big"))
    assert all(r["stats"]["output_tokens"] > 0 for r in auto.values() if r["source"])  # the failed run's stats


def test_auto_writes_confident_merges_without_asking_the_model():
    engine = PromptScriptedEngine(rambling)
    records = run_eval(TASKS, [AUTO], applier=Applier(Settings(), engine=engine))
    assert {r["task"]: r["source"] for r in records} == {
        "t/small": "merge-confident", "t/mid": "merge-confident", "t/big": "merge-confident", "t/lost": ""}
    assert len(engine.prompts) == 1  # the model ran once: for t/lost, which the merge refuses


def test_auto_key_depends_on_settings_and_merge_code():
    a = plan(TASKS[:1], [AUTO], Settings(n_ctx=2048))
    b = plan(TASKS[:1], [AUTO], Settings(n_ctx=4096))
    assert [j.method for j in a] == [AUTO] and a[0].key != b[0].key


def test_outcomes_split_refusals_from_wrong_files():
    records = run_eval(TASKS, ["splice", "merge"])
    report = rep.aggregate(records)
    merge_all = report["outcomes"]["merge"]["all"]
    assert merge_all["tasks"] == 4 and merge_all["exact"] == 0.75 and merge_all["refused"] == 0.25
    assert merge_all["wrong"] == 0.0 and merge_all["confident_wrong"] == 0.0
    assert "confident_wrong" not in report["outcomes"]["splice"]["all"]  # no confidence to split by
    assert "| all | 4 |" in rep.markdown(report)


def test_an_answer_the_guards_reject_is_a_refusal_not_a_wrong_file():
    def leaky(prompt_text: str) -> str:  # keeps f0, then writes the marker instead of the rest
        return prompt.expected_answer("def f0():\n    return 0\n\n# ... existing code ...\n")

    records = run_eval(TASKS[:1], [MODEL], applier=applier(leaky))
    assert records[0]["failure"] == "elision-marker-leaked" and records[0]["source"] == ""
    assert rep.outcome(records) == {"tasks": 1, "exact": 0.0, "refused": 1.0, "wrong": 0.0}


def test_a_guard_refusal_is_recorded_with_its_kind():
    # The model hands the file back unchanged: refused as "snippet-not-applied", scored as the
    # edit missing -- not filed under a leaked marker, as every refusal once was.
    def unchanged(prompt_text: str) -> str:
        return prompt.expected_answer(re.search(r"<code>\n(.*?)</code>", prompt_text, re.S).group(1))

    def echo(prompt_text: str) -> str:  # the snippet itself, markers and all
        return prompt.expected_answer(re.search(r"<update>\n(.*?)</update>", prompt_text, re.S).group(1))

    same = run_eval(TASKS[:1], [MODEL], applier=applier(unchanged))[0]
    assert same["guard"] == "snippet-not-applied" and same["failure"] == "edit-missing" and not same["source"]
    leak = run_eval(TASKS[:1], [MODEL], applier=applier(echo))[0]
    assert leak["guard"] == "leaked-markers" and leak["failure"] == "elision-marker-leaked"


def test_a_change_on_the_apply_path_is_a_new_key(monkeypatch):
    from fastapply.evals import runner

    before = plan(TASKS[:1], [MODEL], Settings())[0].key
    monkeypatch.setattr(runner, "APPLY_PATH", runner.APPLY_PATH[:-1])  # as if merge/ had changed
    assert plan(TASKS[:1], [MODEL], Settings())[0].key != before
