"""Eval runner and report: aggregation by bucket and language, speed pairing, resumability."""
from __future__ import annotations

import json

import pytest

from fastapply.evals import report as rep
from fastapply.evals.dataset import Task
from fastapply.evals.runner import GREEDY, MODEL, plan, run_eval
from fastapply.settings import Settings


def make_task(name: str, n_funcs: int, language: str = "python", edit: bool = True) -> Task:
    """A Python file of `n_funcs` three-line functions (so 3*n lines); the edit changes f1."""
    original = "".join(f"def f{i}():\n    return {i}\n\n" for i in range(n_funcs))
    expected = original.replace("return 1\n", "return 100\n")
    snippet = "# ... existing code ...\ndef f1():\n    return 100\n\n# ... existing code ...\n"
    if not edit:  # a snippet whose anchor is nowhere: splice and merge cannot place it
        snippet = "# ... existing code ...\ndef g():\n    return 100\n# ... existing code ...\n"
    return Task(id=f"t/{name}", language=language, source="test@1", license="MIT", path=f"{name}.py",
                instruction="Return 100 from f1.", original=original, snippet=snippet, expected=expected)


TASKS = [make_task("small", 10), make_task("mid", 50), make_task("big", 100), make_task("lost", 10, edit=False)]


def test_aggregate_by_bucket_language_and_failures():
    records = run_eval(TASKS, ["original", "splice", "merge"])
    report = rep.aggregate(records)
    assert report["dataset"] == {"tasks": 4, "languages": {"python": 4},
                                 "by_length": {"0-100": 2, "100-200": 1, "200-400": 1}}
    assert report["exact_match"]["original"] == 0.0
    assert report["exact_match"]["merge"] == 0.75
    assert report["by_length"]["merge"]["0-100"] == {"tasks": 2, "exact_match": 0.5, "syntax_match": 0.5}
    assert report["by_length"]["merge"]["200-400"]["exact_match"] == 1.0
    assert report["by_language"]["splice"]["python"]["tasks"] == 4
    assert report["failures"]["original"] == {"edit-missing": 4}
    assert sum(report["failures"]["merge"].values()) == 1
    assert report["speed"] is None
    json.dumps(report)  # JSON-able as is


def fake_model_record(task: str, method: str, bucket: str, seconds: float, sha: str) -> dict:
    stats = {"prefill_seconds": 0.0, "decode_seconds": seconds, "tokens_per_pass": 2.0,
             "tokens_per_second": 10.0, "acceptance_rate": 0.5}
    return {"task": task, "method": method, "model": "m", "language": "python", "bucket": bucket, "exact": False,
            "syntax": False, "similarity": 0.5, "failure": "other", "stats": stats, "answer_sha": sha}


def test_speed_pairs_greedy_with_speculative_runs():
    records = [
        fake_model_record("a", MODEL, "0-100", 1.0, "x"),
        fake_model_record("a", GREEDY, "0-100", 3.0, "x"),
        fake_model_record("b", MODEL, "200-400", 2.0, "y"),
        fake_model_record("b", GREEDY, "200-400", 2.0, "z"),  # differs: not lossless
        fake_model_record("c", MODEL, "200-400", 5.0, "w"),  # not sampled
    ]
    speed = rep.aggregate(records)["speed"]
    assert speed["sampled_tasks"] == 2
    assert speed["speedup"] == pytest.approx(5.0 / 3.0, abs=1e-3)
    assert speed["by_length"] == {"0-100": {"tasks": 1, "speedup": 3.0}, "200-400": {"tasks": 1, "speedup": 1.0}}
    assert speed["lossless"] == 1
    assert speed["tokens_per_pass"] == 2.0


def test_resumable_second_run_does_no_work(tmp_path):
    results = tmp_path / "r.jsonl"
    calls = []
    first = run_eval(TASKS, ["splice", "merge"], results=results, progress=lambda d, n, _l: calls.append((d, n)))
    assert calls[-1] == (8, 8)
    lines = results.read_text().count("\n")
    calls.clear()
    second = run_eval(TASKS, ["splice", "merge"], results=results, progress=lambda d, n, _l: calls.append((d, n)))
    assert calls == [(0, 0)] and results.read_text().count("\n") == lines
    assert second == first
    # A new method is new work; the finished ones stay finished.
    run_eval(TASKS, ["original", "merge"], results=results)
    assert results.read_text().count("\n") == lines + 4


def test_resume_survives_a_torn_last_line(tmp_path):
    results = tmp_path / "r.jsonl"
    run_eval(TASKS[:1], ["splice"], results=results)
    with open(results, "a") as handle:
        handle.write('{"key": "trunc')  # the run was killed mid-write
    assert len(run_eval(TASKS[:1], ["splice"], results=results)) == 1


def test_judge_scores_are_added_on_resume(tmp_path):
    results = tmp_path / "r.jsonl"
    run_eval(TASKS[:2], ["merge"], results=results)
    seen = []

    def judge(task, text):
        seen.append(task.id)
        return {"score": 5 if text == task.expected else 1}

    records = run_eval(TASKS[:2], ["merge"], results=results, judge=judge)
    assert sorted(seen) == ["t/mid", "t/small"]
    assert rep.aggregate(records)["judge"]["merge"] == {"scored": 2, "mean": 5.0}
    run_eval(TASKS[:2], ["merge"], results=results, judge=judge)
    assert len(seen) == 2  # already judged


def test_model_config_is_part_of_the_key():
    a = plan(TASKS[:1], ["model"], Settings(n_ctx=2048), speed_sample=1)
    b = plan(TASKS[:1], ["model"], Settings(n_ctx=4096), speed_sample=1)
    assert [j.method for j in a] == [MODEL, GREEDY]
    assert a[0].key != b[0].key
    with pytest.raises(ValueError):
        plan(TASKS, ["nope"], Settings())


def test_markdown_and_plots(tmp_path):
    report = rep.aggregate(run_eval(TASKS, ["original", "merge"]))
    text = rep.markdown(report)
    assert "| deterministic merge | 75.0% |" in text
    assert "floor: original unchanged" in text and "edit-missing" in text
    pytest.importorskip("matplotlib")
    paths = rep.plots(report, tmp_path / "plots")
    assert [p.name for p in paths] == ["accuracy_by_length.png", "speedup_by_length.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
