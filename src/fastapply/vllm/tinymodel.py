"""A tiny random Llama with a real tokenizer, saved locally: the vLLM tier's test model.

Nothing is downloaded. The tokenizer is a byte-level BPE trained (in milliseconds) on this
package's own source, so apply prompts tokenize into a few hundred tokens, and it carries a
chat template, so a vLLM server can tokenize chat requests and ``prediction`` text. The
weights are random with a fixed seed: greedy output is deterministic but meaningless, which
is all a losslessness test needs (speculative output must equal plain output, whatever it is).

    python -m fastapply.vllm.tinymodel DIR     # builds DIR once; prints DIR
"""
from __future__ import annotations

import sys
from pathlib import Path

# Bump when anything below changes, so cached copies are rebuilt.
VERSION = 3
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL = ["<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|pad|>"]


def _corpus() -> list[str]:
    root = Path(__file__).resolve().parents[1]
    return [p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))]


def build(out: str | Path, *, vocab_size: int = 1024, seed: int = 0) -> Path:
    """Write tokenizer + random LlamaForCausalLM to ``out`` (skipped if already built)."""
    out = Path(out)
    stamp = out / "fastapply-tinymodel.txt"
    if stamp.exists() and stamp.read_text() == str(VERSION):
        return out
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|pad|>")
    fast.chat_template = CHAT_TEMPLATE
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        # head_dim 64: vLLM's CPU attention kernels support only some head sizes (16 is refused).
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, bos_token_id=None,
        tie_word_embeddings=False, torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    stamp.write_text(str(VERSION))
    return out


if __name__ == "__main__":
    print(build(sys.argv[1]))
