"""Does the GGUF adapter in llama.cpp compute what the peft adapter computes in transformers?

Four runs see the same token sequences (each prompt plus a greedy continuation chosen by
llama.cpp with the adapter): transformers base, transformers base + peft, llama.cpp base,
llama.cpp base + GGUF adapter. Compared, per position: the argmax, and the logits.

The base runs are the reference: llama.cpp's base weights are quantized (Q4_1 for
SmolLM2) where transformers dequantizes them to fp32, so the two already disagree a
little without any adapter; the adapter should not make that worse. And the adapter
must visibly *do* something, the same thing on both sides: ``delta_cosine`` compares the
adapter's effect on the logits (adapted minus base) between the two runtimes, which a
no-op or a mis-laid-out export fails even where argmaxes happen to agree.
"""
from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import prompt as _prompt

# Two short edits in the apply prompt's own format: what the adapter is trained on.
DEFAULT_PROMPTS: list[list[dict[str, str]]] = [
    _prompt.messages("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
                     "def add(a, b):\n    \"\"\"Sum.\"\"\"\n    return a + b\n# ... existing code ...\n"),
    _prompt.messages("const PORT = 3000;\nfunction start() {\n  listen(PORT);\n}\n",
                     "const PORT = 8080;\n// ... existing code ...\n"),
]

_MAX_TOKENS = 512  # per prompt with its continuation: logits are taken from one batch


def _llama_logits(base_gguf: Path, lora_path: Path | None, seqs: list[list[int]] | None,
                  prompts: Sequence, n_tokens: int, threads: int) -> tuple[list[list[int]], list[np.ndarray]]:
    """(sequences, [n, vocab] logits of each). With ``seqs`` None, each prompt is
    tokenized and extended by n_tokens greedy tokens first."""
    import llama_cpp as C

    from ..backends.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(str(base_gguf), n_ctx=_MAX_TOKENS, n_batch=_MAX_TOKENS, threads=threads, exact=True,
                            adapter=str(lora_path) if lora_path else None)
    try:
        if seqs is None:
            seqs = []
            for p in prompts:
                text = p if isinstance(p, str) else engine.chat_prompt(p) + _prompt.answer_prefix()
                ids = engine.tokenize(text, special=True)
                tok = int(engine.forward(ids, last_only=True).tokens[-1])
                for _ in range(n_tokens):
                    ids.append(tok)
                    tok = int(engine.forward([tok], last_only=True).tokens[-1])
                engine.truncate(0)
                if len(ids) > _MAX_TOKENS:
                    raise ValueError(f"a parity prompt is {len(ids)} tokens with its continuation; "
                                     f"at most {_MAX_TOKENS}")
                seqs.append(ids)
        out = []
        for ids in seqs:
            engine.truncate(0)
            engine.forward(ids)  # logits at every position, in one batch
            # the engine keeps llama.cpp's logits buffer until the next decode
            ptr = C.llama_get_logits(engine._ctx)
            out.append(np.ctypeslib.as_array(ptr, shape=(len(ids) * engine.n_vocab,))
                       .reshape(len(ids), engine.n_vocab).copy())
        return seqs, out
    finally:
        engine.close()


def load_hf_model(base_gguf: str | Path, threads: int | None = None):
    """The base GGUF dequantized into transformers (fp32), as the adapter was trained on."""
    import os

    import torch
    from transformers import AutoModelForCausalLM

    if threads:
        torch.set_num_threads(threads)
    folder, name = os.path.split(str(base_gguf))
    return AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()


def _hf_logits(model, seqs: list[list[int]], n_vocab: int) -> list[np.ndarray]:
    import torch

    out = []
    with torch.inference_mode():
        for ids in seqs:
            logits = model(input_ids=torch.tensor([ids])).logits[0, :, :n_vocab]
            out.append(logits.float().numpy())
    return out


def _compare(a: list[np.ndarray], b: list[np.ndarray], start: list[int]) -> dict:
    agree = total = agree_gen = total_gen = 0
    max_abs, sum_abs, n = 0.0, 0.0, 0
    for x, y, s in zip(a, b, start):
        same = x.argmax(1) == y.argmax(1)
        agree += int(same.sum())
        total += len(same)
        agree_gen += int(same[s:].sum())
        total_gen += len(same[s:])
        d = np.abs(x - y)
        max_abs = max(max_abs, float(d.max()))
        sum_abs += float(d.sum())
        n += d.size
    return {"agreement": agree / total, "greedy_agreement": agree_gen / max(1, total_gen),
            "max_abs": max_abs, "mean_abs": sum_abs / n}


def _delta_cosine(hf_ad, hf_base, ll_ad, ll_base) -> float:
    """Cosine between the adapter's effect on the logits in the two runtimes (each row
    centered: a constant shift of a row changes no probability)."""
    dot = na = nb = 0.0
    for a1, a0, b1, b0 in zip(hf_ad, hf_base, ll_ad, ll_base):
        da, db = (a1 - a0).astype(np.float64), (b1 - b0).astype(np.float64)
        da -= da.mean(1, keepdims=True)
        db -= db.mean(1, keepdims=True)
        dot += float((da * db).sum())
        na += float((da * da).sum())
        nb += float((db * db).sum())
    return dot / np.sqrt(na * nb) if na > 0 and nb > 0 else 0.0


def check_parity(base_gguf: str | Path, adapter_dir: str | Path, gguf_adapter: str | Path,
                 prompts: Sequence = DEFAULT_PROMPTS, n_tokens: int = 16, *, hf_model=None,
                 threads: int = 1, max_agreement_drop: float = 0.05, min_delta_cosine: float = 0.9) -> dict:
    """Compare transformers (base + peft adapter) with llama.cpp (base + GGUF adapter).

    prompts: strings (tokenized as they are, control tokens parsed) or chat message
    lists (rendered with the model's template, the answer prefix appended). Each is
    extended by n_tokens greedy tokens of llama.cpp with the adapter; all runs then see
    the same sequences. hf_model: an already loaded transformers base to reuse; the peft
    adapter is put on it and taken off again (left unchanged). threads: for llama.cpp;
    one by default: its worker threads spin at every barrier, which on a busy 2-core
    machine made the check ten times slower, and no result depends on the count.

    Returns::

        adapter: {agreement, greedy_agreement, max_abs, mean_abs}  hf+peft vs llama+gguf
        base:    the same, hf base vs llama base (the quantization's own share)
        effect:  {hf_changed, llama_changed}: share of argmaxes the adapter changes in
                 each runtime; hf_mean_abs: its mean logit change in transformers
        adapter_off: hf+peft vs llama base: what an export that did nothing would score
        delta_cosine: cosine of the adapter's logit change, transformers vs llama.cpp
        delta_checked: whether that change stands out of the quantization's own
                 difference (mean logit change at least twice the base's mean |diff|)
                 enough for delta_cosine to mean something
        positions, ok: adapter agreement within max_agreement_drop of the base's, mean
                 |diff| at most 1.5x the base's (+0.05), and delta_cosine at least
                 min_delta_cosine where delta_checked
    """
    from peft import PeftModel

    base_gguf, adapter_dir, gguf_adapter = Path(base_gguf), Path(adapter_dir), Path(gguf_adapter)
    seqs, ll_ad = _llama_logits(base_gguf, gguf_adapter, None, prompts, n_tokens, threads)
    _, ll_base = _llama_logits(base_gguf, None, seqs, prompts, n_tokens, threads)
    n_vocab = ll_ad[0].shape[1]
    start = [len(s) - n_tokens - 1 for s in seqs]  # the position predicting the first greedy token

    model = hf_model if hf_model is not None else load_hf_model(base_gguf, threads)
    hf_base = _hf_logits(model, seqs, n_vocab)
    peft_model = PeftModel.from_pretrained(model, str(adapter_dir))
    try:
        hf_ad = _hf_logits(peft_model, seqs, n_vocab)
    finally:
        peft_model.unload()  # the base modules back in place, unmerged

    adapter = _compare(hf_ad, ll_ad, start)
    base = _compare(hf_base, ll_base, start)
    effect_hf = _compare(hf_ad, hf_base, start)
    effect_ll = _compare(ll_ad, ll_base, start)
    cos = _delta_cosine(hf_ad, hf_base, ll_ad, ll_base)
    checked = effect_hf["mean_abs"] >= 2 * base["mean_abs"]
    report = {
        "positions": sum(len(s) for s in seqs),
        "adapter": adapter,
        "base": base,
        "adapter_off": _compare(hf_ad, ll_base, start),
        "effect": {"hf_changed": 1 - effect_hf["agreement"], "llama_changed": 1 - effect_ll["agreement"],
                   "hf_mean_abs": effect_hf["mean_abs"]},
        "delta_cosine": float(cos),
        "delta_checked": bool(checked),
    }
    report["ok"] = bool(adapter["agreement"] >= base["agreement"] - max_agreement_drop
                        and adapter["mean_abs"] <= 1.5 * base["mean_abs"] + 0.05
                        and (cos >= min_delta_cosine or not checked))
    return report


def format_report(r: dict) -> str:
    a, b, e = r["adapter"], r["base"], r["effect"]
    return "\n".join([
        f"positions compared: {r['positions']}",
        f"argmax agreement, transformers vs llama.cpp: with adapter {a['agreement']:.3f} "
        f"(greedy steps {a['greedy_agreement']:.3f}), base alone {b['agreement']:.3f} "
        f"(greedy steps {b['greedy_agreement']:.3f})",
        f"logit |diff|, with adapter: max {a['max_abs']:.3f} mean {a['mean_abs']:.4f}; "
        f"base alone: max {b['max_abs']:.3f} mean {b['mean_abs']:.4f}",
        f"adapter effect: changes {e['hf_changed']:.1%} of argmaxes in transformers, "
        f"{e['llama_changed']:.1%} in llama.cpp; mean logit change {e['hf_mean_abs']:.4f}",
        f"an export that did nothing would agree {r['adapter_off']['agreement']:.3f} "
        f"(mean |diff| {r['adapter_off']['mean_abs']:.4f})",
        f"adapter logit change, cosine transformers vs llama.cpp: {r['delta_cosine']:.4f}"
        + ("" if r["delta_checked"] else " (not checked: the change is within the quantization's own difference)"),
        f"parity: {'OK' if r['ok'] else 'FAILED'}",
    ])
