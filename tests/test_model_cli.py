"""The CLI end to end with the default embedded model."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapply.cli import cli

pytestmark = pytest.mark.model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
INSERTED = '        if amount <= 0:\n            raise ValueError("amount must be positive")\n'


@pytest.fixture
def app(tmp_path):
    target = tmp_path / "app.py"
    shutil.copy(EXAMPLES / "app.py", target)
    return target


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def apply_stats(app, tmp_path, *flags) -> dict:
    before = app.read_text()
    stats = tmp_path / "stats.json"
    r = run("apply", app, "--snippet", EXAMPLES / "app.snippet.py", "--in-place", "--stats-json", stats, *flags)
    assert r.exit_code == 0, r.output
    anchor = "    def restock(self, sku: str, amount: int) -> None:\n"
    assert app.read_text() == before.replace(anchor, anchor + INSERTED)
    app.write_text(before)
    return json.loads(stats.read_text())


def test_auto_mode_writes_the_edit_in_place(app, tmp_path):
    data = apply_stats(app, tmp_path)
    for key in ("output_tokens", "forward_passes", "drafted_tokens", "accepted_tokens", "prefill_seconds",
                "decode_seconds", "tokens_per_second"):
        assert key in data
    assert data["source"] == "merge-confident" and data["forward_passes"] == 0  # no model needed


def test_the_merge_draft_saves_forward_passes_when_the_model_verifies_it(app, tmp_path):
    """--auto-prefer model: the fine-tuned model rewrites the file with the merge as its first
    draft. Greedy decoding is lossless, so it writes the same file as in model mode, in fewer
    forward passes: the inserted lines are in the merge but not in the original."""
    auto = apply_stats(app, tmp_path, "--auto-prefer", "model")
    model = apply_stats(app, tmp_path, "--mode", "model")
    assert auto["source"] == model["source"] == "model"
    assert auto["output_tokens"] == model["output_tokens"]
    assert auto["forward_passes"] < model["forward_passes"]


def test_the_default_fine_tuned_model_applies_the_edit_itself(app, tmp_path):
    """Model mode, no merge: the shipped apply adapter writes the file, and speculation pays
    (the base model, zero-shot, manages neither: see the next test)."""
    before = app.read_text()
    stats = tmp_path / "stats.json"
    r = run("apply", app, "--snippet", EXAMPLES / "app.snippet.py", "--in-place", "--mode", "model",
            "--stats-json", stats)
    assert r.exit_code == 0, r.output
    anchor = "    def restock(self, sku: str, amount: int) -> None:\n"
    assert app.read_text() == before.replace(anchor, anchor + INSERTED)
    data = json.loads(stats.read_text())
    assert data["model"] == "smollm2-135m-apply" and data["source"] == "model"
    assert data["tokens_per_pass"] > 4  # drafts copied from the file are accepted in long runs


def test_model_mode_refuses_an_unusable_answer_and_leaves_the_file(app):
    # The zero-shot base model does not close its answer on this edit (it rambles to the
    # token budget); the file must stay as it was.
    before = app.read_bytes()
    r = run("apply", app, "--snippet", EXAMPLES / "app.snippet.py", "--in-place", "--mode", "model",
            "--model", "smollm2-135m")
    assert r.exit_code == 4
    assert "before closing </updated-code>" in r.output and "not changed" in r.output
    assert app.read_bytes() == before


def test_context_too_long_names_the_numbers(app):
    r = run("apply", app, "--snippet", EXAMPLES / "app.snippet.py", "--mode", "model", "--n-ctx", "512")
    assert r.exit_code == 3
    assert "context holds 512" in r.output and "tokens of context" in r.output
