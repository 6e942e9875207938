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


@pytest.mark.model
def test_judge_against_a_real_local_server(tmp_path):
    """The judge's round trip through the openai client to llama.cpp's OpenAI-compatible
    server on SmolLM2 (too small to grade well: only the plumbing is checked)."""
    pytest.importorskip("openai")
    pytest.importorskip("uvicorn")
    pytest.importorskip("sse_starlette")
    pytest.importorskip("starlette_context")
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from fastapply.evals.judge import JudgeConfig, LLMJudge
    from fastapply.models import resolve
    from fastapply.settings import Settings

    gguf = resolve("smollm2-135m", Settings().cache_dir)[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                               "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        judge = LLMJudge(JudgeConfig(f"http://127.0.0.1:{port}/v1", "smollm2", max_tokens=60))
        result = judge(TASKS[1], TASKS[1].expected)
        assert result["judge"] == "smollm2" and result["reason"]
        assert result["score"] in (1, 2, 3, 4, 5) or "SCORE" in result["error"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_judge_score_parsing():
    from fastapply.evals.judge import judge_messages, parse_score

    assert parse_score("Applied fully.\nSCORE: 5") == 5
    assert parse_score("SCORE: 2 ... on reflection\nSCORE: **4**") == 4  # the last one counts
    assert parse_score("SCORE: 9") is None and parse_score("looks good") is None
    user = judge_messages(TASKS[0], "candidate text")[1]["content"]
    assert "candidate text" in user and TASKS[0].expected in user and "SCORE:" in user
