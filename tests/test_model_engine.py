"""The model tier: the embedded models through llama.cpp, on real edits.

Losslessness is a test, not a claim: speculative output must equal plain greedy output
token for token. The setup builds llama.cpp without llamafile and the engine's exact
mode turns off flash attention, weight repacking and the tiled matmul, which makes
batched and single-token evaluation bit-identical; so identity is expected exactly. A
divergence would be tolerated only at a near-tie: top-1 minus top-2 logit below EPS in
the plain run at the first differing token.
"""
from __future__ import annotations

import pytest

from fastapply import prompt
from fastapply.applier import Applier
from fastapply.prompt import StopAtTag
from fastapply.settings import Settings
from fastapply.speculative import CopyDrafter, generate

pytestmark = [pytest.mark.model, pytest.mark.network]  # network: the benchmark set's first build

EPS = 1e-3  # logits; see the module docstring


@pytest.fixture(scope="module")
def tasks():
    from fastapply.evals.dataset import load_tasks

    return load_tasks(languages=["python"], max_lines=100, limit=20)


@pytest.fixture(scope="module", params=["smollm2-135m", "smollm2-135m-apply", "gemma3-270m"])
def applier(request):
    return Applier(Settings(model=request.param, n_ctx=4096))


def _divergence_is_near_tie(plain, spec) -> bool:
    i = next(i for i, (a, b) in enumerate(zip(plain.tokens, spec.tokens)) if a != b)
    return plain.margins[i] < EPS


def test_speculative_equals_greedy_on_real_edits(applier, tasks):
    # 20 real edits with the base SmolLM2, 8 with its apply adapter on top (llama.cpp adds the
    # LoRA product to every linear layer: batch invariance must survive it), 4 with Gemma
    # (slower: twice the layers' width, 5x the vocabulary).
    cases = {"smollm2-135m": tasks, "smollm2-135m-apply": tasks[:8]}.get(applier.settings.engine.model, tasks[:4])
    engine = applier.engine
    passes = {"plain": 0, "spec": 0, "oracle": 0}
    for task in cases:
        ids = applier.prompt_tokens(task.original, task.snippet, task.instruction)
        sources = [engine.tokenize(prompt.expected_answer(task.original)), engine.tokenize(prompt.render(task.snippet))]

        def run(drafter):
            return generate(engine, ids, max_new_tokens=64, drafter=drafter, stop=StopAtTag(engine.detokenize),
                            record_margins=True)

        plain = run(None)
        spec = run(CopyDrafter(sources))
        # The model's own answer as the draft: every draft token is right, drafts grow to
        # 64 tokens, and the long-batch path must agree too.
        oracle = run(CopyDrafter([plain.tokens]))
        for other in (spec, oracle):
            assert other.tokens == plain.tokens or _divergence_is_near_tie(plain, other), task.id
        assert oracle.stats.accepted_tokens == oracle.stats.drafted_tokens
        passes["plain"] += plain.stats.forward_passes
        passes["spec"] += spec.stats.forward_passes
        passes["oracle"] += oracle.stats.forward_passes
    assert passes["oracle"] < passes["plain"] / 4
    assert passes["spec"] <= passes["plain"]


def test_prompt_uses_the_models_chat_template(applier):
    text = applier.engine.chat_prompt(prompt.messages("a = 1\n", "a = 2\n"))
    marker = {"smollm2-135m": "<|im_start|>assistant\n", "smollm2-135m-apply": "<|im_start|>assistant\n",
              "gemma3-270m": "<start_of_turn>model\n"}
    assert text.endswith(marker[applier.settings.engine.model])
    ids = applier.prompt_tokens("a = 1\n", "a = 2\n")
    # Control tokens are parsed as such, not spelled out as text.
    assert len(ids) < len(text) / 2


def test_tokenize_round_trip(applier):
    code = "def f(x):\n    return {'é': x}  # ünïcödé\n"
    assert applier.engine.detokenize(applier.engine.tokenize(code)).decode() == code
