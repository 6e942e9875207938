"""Snippet styles: each renders a lazy snippet whose code lines are the expected file's, in order,
with markers where it elides; the docstring's example; `eval --style` reports per style."""
from __future__ import annotations

import doctest

import pytest
from click.testing import CliRunner

from fastapply.cli import cli
from fastapply.corpus import styles
from fastapply.corpus.styles import STYLES, render, restyle, style_of
from fastapply.evals.dataset import Task
from fastapply.evals.runner import run_eval
from fastapply.evals import report as rep

BEFORE = "".join(f"def f{i}(x):\n    y = x + {i}\n    return y\n\n\n" for i in range(12))
AFTER = BEFORE.replace("    y = x + 5\n", "    y = x * 5\n    y += 1\n").replace("def f9(x):\n    y = x + 9\n    return y\n\n\n", "")


def test_the_docstring_example_holds():
    assert doctest.testmod(styles).failed == 0


def test_there_are_at_least_ten_styles():
    assert len(STYLES) >= 10


@pytest.mark.parametrize("name", sorted(STYLES))
@pytest.mark.parametrize("path", ["m.py", "m.js", "m.c"])
def test_every_style_shows_expected_lines_in_order_and_marks_elisions(name, path):
    style = STYLES[name]
    before, after = BEFORE, AFTER
    if not path.endswith(".py"):
        before, after = before.replace("def ", "function ").replace(":\n", " {\n"), after.replace("def ", "function ").replace(":\n", " {\n")
    snippet = render(before, after, path, style)
    lines = snippet.splitlines()
    markers = [line for line in lines if style.phrase in line and line not in after.splitlines()]
    code = [line for line in lines if line not in markers]
    expected = after.splitlines()
    pos = 0
    for line in code:  # a subsequence of the expected file
        pos = expected.index(line, pos) + 1
    assert markers, "every style elides something in a 60-line file"
    assert "    y = x * 5" in code and "    y += 1" in code
    assert len(code) < len(expected)
    if style.indent == "column0":
        assert all(not m[0].isspace() for m in markers)


def test_restyle_marks_the_task_id():
    task = Task("pkg/1..2/m.py", "python", "pkg@2", "MIT", "m.py", "", BEFORE, "x", AFTER)
    styled = restyle(task, STYLES["no-ellipsis"])
    assert style_of(styled.id) == "no-ellipsis" and style_of(task.id) == "benchmark"
    assert style_of("npm/@scope/pkg/1..2/a.ts") == "benchmark"
    assert "# (existing code)" in styled.snippet


def test_eval_reports_by_style(tmp_path):
    task = Task("pkg/1..2/m.py", "python", "pkg@2", "MIT", "m.py", "", BEFORE, "x", AFTER)
    tasks = [restyle(task, STYLES[n]) for n in ("existing-code", "context5")]
    records = run_eval(tasks, ["merge"])
    report = rep.aggregate(records)
    assert set(report["by_style"]["merge"]) == {"existing-code", "context5"}
    assert "by snippet style" in rep.markdown(report)


def test_an_unknown_style_is_a_usage_error(tmp_path):
    tasks = tmp_path / "t.jsonl"
    import json
    from dataclasses import asdict

    tasks.write_text(json.dumps(asdict(Task("pkg/1..2/m.py", "python", "pkg@2", "MIT", "m.py", "", BEFORE, "x", AFTER))) + "\n")
    result = CliRunner().invoke(cli, ["eval", "--tasks", str(tasks), "--methods", "merge", "--style", "nope",
                                      "--results", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 2 and "unknown style" in result.output
    result = CliRunner().invoke(cli, ["eval", "--tasks", str(tasks), "--methods", "merge", "--style", "all",
                                      "--results", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 0 and "whole-definitions" in result.output
