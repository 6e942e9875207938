"""The LoRA trainer: pure parts (fast tier) and a few real steps on SmolLM2 (model tier)."""
from __future__ import annotations

import json

import pytest

from fastapply.train.example import Example, write_jsonl
from fastapply.train.lora import Encoded, TrainConfig, difficulty, lr_at, select


def _ex(i: int, original: str, target: str) -> Example:
    return Example(id=f"t/{i}", kind="synthetic", language="python", source="test", path=f"m{i}.py",
                   instruction="", original=original, snippet=target, target=target)


def test_difficulty_counts_changed_lines_over_target():
    same = "a\nb\nc\nd\n"
    assert difficulty(_ex(0, same, same)) == 0
    assert difficulty(_ex(1, same, "a\nB\nc\nd\n")) == pytest.approx(1 / 4)
    assert difficulty(_ex(2, same, "a\nd\n")) == pytest.approx(2 / 2)  # two deleted lines, two kept


def test_select_docstring_example():
    encs = [Encoded(name, list(range(100)), 10) for name in "abc"]
    chosen = select(encs, {"a": 0.5, "b": 0.1, "c": 0.3}, budget_tokens=250, seed=0, hard_fraction=1)
    assert sorted(e.id for e in chosen) == ["a", "c"]


def test_select_is_deterministic_and_respects_budget():
    encs = [Encoded(str(i), [0] * (50 + i), 5) for i in range(40)]
    scores = {str(i): (i * 7 % 11) / 11 for i in range(40)}
    a = select(encs, scores, 1000, seed=3)
    assert [e.id for e in a] == [e.id for e in select(encs, scores, 1000, seed=3)]
    assert sum(len(e.ids) for e in a) <= 1000


def test_lr_warms_up_then_decays_to_a_tenth():
    cfg = TrainConfig(data="x", out="y", lr=1.0, warmup=4)
    assert lr_at(0, 100, cfg) == pytest.approx(0.25)
    assert lr_at(3, 100, cfg) == pytest.approx(1.0)
    assert lr_at(100, 100, cfg) == pytest.approx(0.1)
    assert lr_at(50, 100, cfg) < lr_at(10, 100, cfg)


# -- model tier ---------------------------------------------------------------------------
FILES = [
    ("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
     "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"),
    ("import os\n\n\ndef home():\n    return os.environ['HOME']\n",
     "import os\n\n\ndef home():\n    return os.path.expanduser('~')\n"),
    ("class Box:\n    def __init__(self, v):\n        self.v = v\n",
     "class Box:\n    def __init__(self, v):\n        self.v = v\n\n    def get(self):\n        return self.v\n"),
    ("x = 1\ny = 2\nz = x + y\nprint(z)\n", "x = 1\ny = 3\nz = x + y\nprint(z)\n"),
]


@pytest.fixture(scope="module")
def base():
    pytest.importorskip("peft")
    from fastapply.train.lora import load_base

    return load_base("smollm2-135m", None, "float32")


@pytest.mark.model
def test_encoding_matches_the_llama_engine_prompt(base):
    """The trainer must see the very token ids the engine feeds at apply time."""
    from fastapply.applier import Applier
    from fastapply.train.lora import chat_renderer, encode, end_of_turn

    _, tokenizer = base
    ex = _ex(0, *FILES[1])
    enc = encode(ex, tokenizer, chat_renderer(tokenizer), end_of_turn(tokenizer))
    applier = Applier()
    assert enc.ids[: enc.n_prompt] == applier.prompt_tokens(ex.original, ex.snippet, None)
    answer = applier.engine.detokenize(enc.ids[enc.n_prompt :]).decode()
    assert answer.startswith(ex.target) and "</updated-code>" in answer
    assert enc.ids[-1] in applier.engine.eos_tokens  # the model learns to stop


@pytest.mark.model
def test_a_few_steps_lower_the_loss_then_resume(base, tmp_path):
    import copy

    from fastapply.train.lora import train

    data = tmp_path / "data.jsonl"
    write_jsonl([_ex(i, *pair) for i, pair in enumerate(FILES)], data)
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), held_out=0, grad_accum=2, epochs=3, lr=3e-3,
                      warmup=0, save_every=1, budget_tokens=100_000)
    model, tokenizer = base
    first = train(cfg.model_copy(update={"max_minutes": None}), model=copy.deepcopy(model), tokenizer=tokenizer)
    assert first.steps == 6 and first.examples_seen == 12
    losses = [loss for _, loss in first.losses]
    assert losses[-1] < 0.7 * losses[0], losses  # it learns these four edits
    assert (first.adapter / "adapter_model.safetensors").exists()
    summary = json.loads((tmp_path / "run" / "train.json").read_text())
    assert summary["steps"] == 6 and summary["data"]["chosen"] == 4

    # A rerun with more epochs resumes at step 6 instead of starting over.
    again = train(cfg.model_copy(update={"epochs": 4}), model=copy.deepcopy(model), tokenizer=tokenizer)
    assert again.steps == 8 and len(again.losses) == 8
    assert again.losses[:6] == first.losses
