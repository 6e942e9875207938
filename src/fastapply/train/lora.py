"""LoRA supervised fine-tuning of the apply model (transformers + peft), on CPU or GPU.

Each example is rendered exactly as the engine renders it at apply time (chat template,
the answer prefilled with ``<updated-code>\\n``), and the loss is taken on the answer
only: the updated text, the closing tag and the end-of-turn token, so the model learns
to copy, to edit and to stop.

On this project's 2-core CPU a LoRA step runs at roughly 100 tokens/s, so an hour
buys a few hundred examples; ``select`` spends that budget where it teaches most (see
its docstring). Checkpoints are written every ``save_every`` optimizer steps and a
rerun with the same ``out`` resumes from the newest.

    result = train(TrainConfig(data="data.jsonl", out="runs/a", max_minutes=50))
"""
from __future__ import annotations

import difflib
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .. import prompt

from .example import Example, read_jsonl

# Every linear layer of a Llama/Gemma block: adapting the MLP too, not only attention,
# is what lets a small adapter change what the model writes (the QLoRA finding).
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class TrainConfig(BaseModel):
    """Every knob of a training run, defined once: the CLI's flags are made from it.

    The defaults are the CPU configuration: about 50 minutes on 2 cores for SmolLM2-135M.
    On a GPU raise ``budget_tokens`` and ``max_tokens`` and set ``dtype=bfloat16``.
    """

    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="Training examples, JSONL (from `fastapply data build`).")
    out: str = Field(description="Run directory: checkpoint/, adapter/, loss.png, train.json. Reruns resume here.")
    base: str = Field("smollm2-135m", description="Base model: embedded name, GGUF path, or HF model dir.")
    rank: int = Field(8, ge=1, description="LoRA rank.")
    alpha: int = Field(16, ge=1, description="LoRA alpha (scale = alpha / rank).")
    dropout: float = Field(0.0, ge=0, lt=1, description="LoRA dropout.")
    lr: float = Field(4e-4, gt=0, description="Peak learning rate (warm-up, then cosine to a tenth).")
    warmup: int = Field(8, ge=0, description="Warm-up optimizer steps.")
    grad_accum: int = Field(4, ge=1, description="Examples per optimizer step (one unpadded sequence per forward).")
    max_tokens: int = Field(1024, ge=64, description="Skip examples longer than this (prompt + answer tokens).")
    budget_tokens: int = Field(300_000, ge=1, description="Training tokens over all epochs: the time knob (CPU: ~100 tok/s).")
    hard_fraction: float = Field(0.5, ge=0, le=1, description="Share of the budget spent on the hardest examples "
                                 "(most changed lines); the rest is a random draw.")
    epochs: int = Field(1, ge=1, description="Passes over the selected examples.")
    max_minutes: float | None = Field(None, gt=0, description="Stop and save when this much training time is spent.")
    held_out: int = Field(12, ge=0, description="Examples kept out of training for the held-out loss.")
    eval_every: int = Field(25, ge=1, description="Held-out loss every N optimizer steps.")
    save_every: int = Field(10, ge=1, description="Checkpoint every N optimizer steps.")
    seed: int = Field(0, description="Seed for the split, the order and the LoRA init.")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch (default: torch's choice).")
    device: str | None = Field(None, description="cuda, cpu, ... (default: cuda when available).")
    dtype: str = Field("float32", description="Training dtype of the base weights (bfloat16 on a GPU).")
    cache_dir: str | None = Field(None, description="Where embedded models are assembled (default: the settings' cache).")


@dataclass
class Encoded:
    id: str
    ids: list[int]  # prompt + answer
    n_prompt: int  # labels start here

    @property
    def n_answer(self) -> int:
        return len(self.ids) - self.n_prompt


@dataclass
class TrainResult:
    out: Path
    adapter: Path
    steps: int
    examples_seen: int
    tokens_seen: int
    seconds: float
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, mean train loss)
    eval_losses: list[tuple[int, float]] = field(default_factory=list)  # (step, held-out loss)
    stopped: str = "done"  # done | time


# -- data -----------------------------------------------------------------------------
def difficulty(ex: Example) -> float:
    """Share of the target's lines that are not a plain copy of the original.

    Copying is learned from the first few dozen examples; what a small model gets wrong
    is the edit itself (where new code goes, which lines a deletion drops). A window
    that changes 10 of its 30 lines teaches more per token than a 100-line file that
    changes one.
    """
    before, after = ex.original.splitlines(), ex.target.splitlines()
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    changed = max(len(before), len(after)) - same
    return changed / max(1, len(after))


def select(examples: list[Encoded], scores: dict[str, float], budget_tokens: int, seed: int,
           hard_fraction: float = 0.5) -> list[Encoded]:
    """The examples worth the token budget, shuffled.

    ``hard_fraction`` of the budget goes to the hardest examples first; the rest is a
    random draw from the others. Hardest-only skews towards windows that are mostly new
    code (a probe: mean difficulty 0.67 chosen vs 0.23 overall), and the model must also
    learn to copy long unchanged stretches faithfully, which is what it fails zero-shot.

    Example: scores {a: .5, b: .1, c: .3}, each 100 tokens, budget 250, hard_fraction 1
    -> a and c.
    """
    ranked = sorted(examples, key=lambda e: (-scores[e.id], e.id))
    rng = random.Random(seed)
    chosen, spent = [], 0
    hard_budget = int(budget_tokens * hard_fraction)
    rest = []
    for enc in ranked:
        if spent + len(enc.ids) <= hard_budget:
            chosen.append(enc)
            spent += len(enc.ids)
        else:
            rest.append(enc)
    rng.shuffle(rest)
    for enc in rest:
        if spent + len(enc.ids) <= budget_tokens:
            chosen.append(enc)
            spent += len(enc.ids)
    rng.shuffle(chosen)
    return chosen


def encode(ex: Example, tokenizer, chat_prompt: Callable[[list[dict[str, str]]], str], eos_id: int | None) -> Encoded:
    """Token ids exactly as the engine builds them: the prompt (prefill included) is
    tokenized on its own, the answer separately, as generation produces it."""
    text = chat_prompt(prompt.messages(ex.original, ex.snippet, ex.instruction or None)) + prompt.answer_prefix()
    ids = tokenizer.encode(text, add_special_tokens=False)
    answer = tokenizer.encode(prompt.expected_answer(ex.target), add_special_tokens=False)
    if eos_id is not None:
        answer.append(eos_id)
    return Encoded(ex.id, ids + answer, len(ids))


# -- model ------------------------------------------------------------------------------
def load_base(base: str, cache_dir: str | None, dtype: str):
    """(model, tokenizer) from an embedded model name, a GGUF file or an HF model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..models import MODELS, resolve
    from ..settings import Settings

    kw = {}
    path = base
    if base in MODELS or base.endswith(".gguf"):
        gguf, _ = resolve(base, cache_dir or Settings().cache_dir)
        path, kw["gguf_file"] = os.path.split(str(gguf))
    tokenizer = AutoTokenizer.from_pretrained(path, **kw)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), **kw)
    return model, tokenizer


def chat_renderer(tokenizer):
    """The tokenizer's chat template, or the engine's fallback for template-less bases."""
    if getattr(tokenizer, "chat_template", None):
        return lambda messages: tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    from ..backends.chat import fallback_chat

    gemma = "<start_of_turn>" in tokenizer.get_vocab()
    return lambda messages: fallback_chat(messages, gemma=gemma)


def end_of_turn(tokenizer) -> int | None:
    """The token a chat turn ends with (what the engine's EOS set stops on)."""
    vocab = tokenizer.get_vocab()
    for name in ("<|im_end|>", "<end_of_turn>", "<|eot_id|>"):
        if name in vocab:
            return vocab[name]
    return tokenizer.eos_token_id


def add_lora(model, cfg: TrainConfig):
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in TARGET_MODULES if t in present]
    config = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                        target_modules=targets, bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def answer_loss(model, enc: Encoded, device):
    """Mean cross-entropy over the answer tokens only."""
    import torch

    ids = torch.tensor([enc.ids], device=device)
    labels = ids.clone()
    labels[0, : enc.n_prompt] = -100
    return model(input_ids=ids, labels=labels).loss


def held_out_loss(model, examples: list[Encoded], device) -> float:
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for enc in examples:
            total += float(answer_loss(model, enc, device)) * enc.n_answer
            count += enc.n_answer
    model.train()
    return total / max(1, count)


# -- checkpoints ------------------------------------------------------------------------
def _ckpt_dir(out: Path) -> Path:
    return out / "checkpoint"


def save_checkpoint(out: Path, model, optimizer, state: dict) -> None:
    """Adapter, optimizer and progress, written to a temporary folder then renamed, so an
    interrupted save leaves the previous checkpoint intact."""
    import shutil

    import torch

    final, tmp = _ckpt_dir(out), out / "checkpoint.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp / "adapter")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(state))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def load_checkpoint(out: Path, model, optimizer) -> dict | None:
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    ckpt = _ckpt_dir(out)
    if not (ckpt / "state.json").exists():
        return None
    set_peft_model_state_dict(model, load_file(str(ckpt / "adapter" / "adapter_model.safetensors")))
    optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
    return json.loads((ckpt / "state.json").read_text())


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to a tenth."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, total - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


# -- the loop ---------------------------------------------------------------------------
def prepare(cfg: TrainConfig, tokenizer) -> tuple[list[Encoded], list[Encoded], dict]:
    """Encode, hold some out, select by difficulty within the budget."""
    render, eos = chat_renderer(tokenizer), end_of_turn(tokenizer)
    examples = list(read_jsonl(Path(cfg.data)))
    rng = random.Random(cfg.seed)
    order = sorted(examples, key=lambda e: e.id)
    rng.shuffle(order)
    held, pool = order[: cfg.held_out], order[cfg.held_out :]
    encoded, skipped = [], 0
    for ex in pool:
        enc = encode(ex, tokenizer, render, eos)
        if len(enc.ids) > cfg.max_tokens:
            skipped += 1
            continue
        encoded.append(enc)
    held_enc = [e for e in (encode(ex, tokenizer, render, eos) for ex in held) if len(e.ids) <= cfg.max_tokens]
    scores = {ex.id: difficulty(ex) for ex in pool}
    chosen = select(encoded, scores, cfg.budget_tokens // max(1, cfg.epochs), cfg.seed, cfg.hard_fraction)
    kinds: dict[str, int] = {}
    by_id = {ex.id: ex for ex in pool}
    for enc in chosen:
        key = f"{by_id[enc.id].kind}/{by_id[enc.id].unit}"
        kinds[key] = kinds.get(key, 0) + 1
    info = {"examples": len(examples), "held_out": len(held_enc), "too_long": skipped, "chosen": len(chosen),
            "chosen_tokens": sum(len(e.ids) for e in chosen), "chosen_by_kind": kinds,
            "mean_difficulty_chosen": sum(scores[e.id] for e in chosen) / max(1, len(chosen)),
            "mean_difficulty_all": sum(scores.values()) / max(1, len(scores))}
    return chosen, held_enc, info


def train(cfg: TrainConfig, *, progress: Callable[[dict], None] | None = None, model=None,
          tokenizer=None) -> TrainResult:
    """Fine-tune; resumes from ``cfg.out/checkpoint`` when one exists. ``progress`` gets a
    dict after every optimizer step (step, total, loss, tokens/s)."""
    import torch

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if model is None:
        model, tokenizer = load_base(cfg.base, cfg.cache_dir, cfg.dtype)
    chosen, held, info = prepare(cfg, tokenizer)
    if not chosen:
        raise ValueError(f"no training example fits max_tokens={cfg.max_tokens} and the budget")
    model = add_lora(model, cfg).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    schedule = [enc for _ in range(cfg.epochs) for enc in chosen]
    total_steps = math.ceil(len(schedule) / cfg.grad_accum)
    state = load_checkpoint(out, model, optimizer) or {
        "step": 0, "seen": 0, "tokens": 0, "seconds": 0.0, "losses": [], "eval_losses": []}
    if state["step"] == 0 and held and not state["eval_losses"]:
        state["eval_losses"].append((0, held_out_loss(model, held, device)))
    (out / "data.json").write_text(json.dumps(info, indent=1))
    start, stopped = time.monotonic() - state["seconds"], "done"
    window_loss, window_n, window_tokens, window_t = 0.0, 0, 0, time.monotonic()
    while state["seen"] < len(schedule):
        if cfg.max_minutes is not None and time.monotonic() - start > cfg.max_minutes * 60:
            stopped = "time"
            break
        batch = schedule[state["seen"] : state["seen"] + cfg.grad_accum]
        for group in optimizer.param_groups:
            group["lr"] = lr_at(state["step"], total_steps, cfg)
        for enc in batch:
            loss = answer_loss(model, enc, device)
            (loss / len(batch)).backward()
            window_loss += float(loss.detach())
            window_n += 1
            window_tokens += len(enc.ids)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["seen"] += len(batch)
        state["tokens"] += sum(len(e.ids) for e in batch)
        state["seconds"] = time.monotonic() - start
        mean = window_loss / window_n
        state["losses"].append((state["step"], mean))
        tok_s = window_tokens / max(1e-9, time.monotonic() - window_t)
        window_loss, window_n, window_tokens, window_t = 0.0, 0, 0, time.monotonic()
        if held and state["step"] % cfg.eval_every == 0:
            state["eval_losses"].append((state["step"], held_out_loss(model, held, device)))
        if progress:
            progress({"step": state["step"], "total": total_steps, "loss": mean, "tok_s": tok_s,
                      "eval_loss": state["eval_losses"][-1][1] if state["eval_losses"] else None})
        if state["step"] % cfg.save_every == 0:
            save_checkpoint(out, model, optimizer, state)
    if held and (not state["eval_losses"] or state["eval_losses"][-1][0] != state["step"]):
        state["eval_losses"].append((state["step"], held_out_loss(model, held, device)))
    state["seconds"] = time.monotonic() - start
    save_checkpoint(out, model, optimizer, state)
    adapter = out / "adapter"
    model.save_pretrained(adapter)
    result = TrainResult(out, adapter, state["step"], state["seen"], state["tokens"], state["seconds"],
                         [tuple(x) for x in state["losses"]], [tuple(x) for x in state["eval_losses"]], stopped)
    summary = {"config": cfg.model_dump(), "data": info, "steps": result.steps, "examples_seen": result.examples_seen,
               "tokens_seen": result.tokens_seen, "seconds": round(result.seconds, 1), "stopped": stopped,
               "device": device, "torch_threads": torch.get_num_threads(),
               "final_train_loss": _tail_mean(result.losses), "eval_losses": result.eval_losses}
    (out / "train.json").write_text(json.dumps(summary, indent=1))
    return result


def _tail_mean(losses: Iterable[tuple[int, float]], n: int = 10) -> float | None:
    values = [loss for _, loss in losses][-n:]
    return sum(values) / len(values) if values else None


def plot_losses(result: TrainResult, path: Path) -> Path:
    """Training loss (a moving average) and held-out loss against optimizer steps, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if result.losses:
        steps, values = zip(*result.losses)
        k = max(1, len(values) // 30)
        smooth = [sum(values[max(0, i - k + 1) : i + 1]) / len(values[max(0, i - k + 1) : i + 1]) for i in range(len(values))]
        ax.plot(steps, values, color="#c8d6e5", linewidth=0.8, label="train (per step)")
        ax.plot(steps, smooth, color="#2e86de", label=f"train (mean of {k})")
    if result.eval_losses:
        steps, values = zip(*result.eval_losses)
        ax.plot(steps, values, "o-", color="#ee5253", label="held-out")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("answer loss (nats/token)")
    ax.set_title("fastapply LoRA fine-tuning")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
