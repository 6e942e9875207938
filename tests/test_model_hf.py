"""The transformers backend with the embedded SmolLM2 (dequantized from its GGUF), on CPU."""
from __future__ import annotations

import pytest

from fastapply import prompt
from fastapply.prompt import StopAtTag
from fastapply.backends import load_engine
from fastapply.models import resolve
from fastapply.settings import Settings
from fastapply.speculative import CopyDrafter, generate

pytestmark = [pytest.mark.model, pytest.mark.network]
pytest.importorskip("transformers")
pytest.importorskip("torch")


@pytest.fixture(scope="module")
def engine():
    path, _ = resolve("smollm2-135m", Settings().cache_dir)
    return load_engine("hf", str(path), n_ctx=4096, threads=2)


def test_hf_speculative_equals_greedy(engine):
    from fastapply.evals.dataset import load_tasks

    for task in load_tasks(languages=["python"], max_lines=60, limit=3):
        text = engine.chat_prompt(prompt.messages(task.original, task.snippet)) + prompt.answer_prefix()
        ids = engine.tokenize(text, special=True)
        kw = dict(max_new_tokens=48, stop=StopAtTag(engine.detokenize), record_margins=True)
        plain = generate(engine, ids, **kw)
        spec = generate(engine, ids, drafter=CopyDrafter([engine.tokenize(prompt.expected_answer(task.original))]), **kw)
        oracle = generate(engine, ids, drafter=CopyDrafter([plain.tokens]), **kw)
        assert spec.tokens == plain.tokens, task.id
        assert oracle.tokens == plain.tokens and oracle.stats.forward_passes < plain.stats.forward_passes / 3


def test_hf_rollback_matches_a_fresh_cache(engine):
    ids = engine.tokenize("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n")
    engine.truncate(0)
    first = engine.forward(ids).tokens.tolist()
    engine.truncate(5)  # crop the DynamicCache, then evaluate the rest again
    again = engine.forward(ids[5:]).tokens.tolist()
    assert again == first[5:]
    assert engine.n_past == len(ids)
