"""`fastapply eval` on a tiny hand-written JSONL: fast methods without a model, and the model tier."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from click.testing import CliRunner

from fastapply.cli import cli
from fastapply.evals.dataset import Task

ORIGINAL = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
TASKS = [
    Task("t/add", "python", "test@1", "MIT", "m.py", "Make add print.", ORIGINAL,
         "def add(a, b):\n    print(a, b)\n    return a + b\n\n\n# ... existing code ...\n",
         ORIGINAL.replace("def add(a, b):\n", "def add(a, b):\n    print(a, b)\n")),
    Task("t/sub", "javascript", "test@1", "MIT", "m.js", "Negate.", "function f(a) {\n  return a;\n}\n",
         "function f(a) {\n  return -a;\n}\n", "function f(a) {\n  return -a;\n}\n"),
]


@pytest.fixture
def tasks_file(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(asdict(t)) + "\n" for t in TASKS))
    return path


def run(*args):
    return CliRunner().invoke(cli, ["eval", *map(str, args)])


def test_eval_fast_methods_json_markdown_plots(tmp_path, tasks_file):
    out = tmp_path / "out"
    r = run("--tasks", tasks_file, "--methods", "original,splice,merge", "--results", out / "r.jsonl",
            "--json", out / "r.json", "--markdown", out / "r.md", "--plots", out / "plots")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "r.json").read_text())
    assert report["dataset"] == {"tasks": 2, "languages": {"javascript": 1, "python": 1}, "by_length": {"0-100": 2}}
    assert set(report["exact_match"]) == {"original", "splice", "merge"}
    assert report["exact_match"]["original"] == 0.0
    assert report["by_language"]["merge"]["javascript"] == {"tasks": 1, "exact_match": 1.0, "syntax_match": 1.0}
    assert {"by_length", "by_language", "failures"} <= set(report)
    assert "| floor: original unchanged | 0.0% |" in (out / "r.md").read_text()
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["accuracy_by_length.png", "speedup_by_length.png"]
    # Resumed: nothing new is appended.
    lines = (out / "r.jsonl").read_text()
    assert run("--tasks", tasks_file, "--methods", "original,splice,merge", "--results", out / "r.jsonl").exit_code == 0
    assert (out / "r.jsonl").read_text() == lines


def test_eval_prints_markdown_and_filters(tmp_path, tasks_file):
    r = run("--tasks", tasks_file, "--methods", "merge", "--languages", "python", "--results", tmp_path / "r.jsonl")
    assert r.exit_code == 0, r.output
    assert "1 tasks (python 1)" in r.output


def test_eval_rejects_unknown_method(tmp_path, tasks_file):
    r = run("--tasks", tasks_file, "--methods", "merge,magic")
    assert r.exit_code != 0 and "magic" in r.output


def test_eval_judge_needs_an_endpoint(tmp_path, tasks_file, monkeypatch):
    monkeypatch.delenv("FASTAPPLY_JUDGE_URL", raising=False)
    pytest.importorskip("openai")
    r = run("--tasks", tasks_file, "--methods", "merge", "--judge", "--results", tmp_path / "r.jsonl")
    assert r.exit_code != 0 and "FASTAPPLY_JUDGE_URL" in r.output


@pytest.mark.model
def test_eval_model_method_small(tmp_path, tasks_file):
    out = tmp_path / "out"
    r = run("--tasks", tasks_file, "--methods", "model", "--model", "smollm2-135m", "--n-ctx", "1024",
            "--speed-sample", "1", "--results", out / "r.jsonl", "--json", out / "r.json")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "r.json").read_text())
    assert report["model"] == "smollm2-135m" and report["dataset"]["tasks"] == 2
    speed = report["speed"]
    assert speed["sampled_tasks"] == 1 and speed["lossless"] == 1  # speculative output == greedy output
    assert speed["tokens_per_pass"] >= 1.0
    records = [json.loads(line) for line in (out / "r.jsonl").read_text().splitlines()]
    assert sorted(r["method"] for r in records) == ["model", "model", "model-greedy"]
