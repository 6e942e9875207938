"""Transformers/PyTorch backend: GPUs, fine-tuned adapters, any HF model or GGUF file.

The KV cache is a ``DynamicCache`` rolled back with ``crop``. On a GPU, verifying a
64-token draft costs about as much as decoding one token (the step is bound by kernel
launches and weight reads, not arithmetic), so speculative edits pay far more there than
on a CPU, where verification cost is linear in the draft length.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .base import Greedy


class TransformersEngine:
    name = "hf"

    def __init__(self, model_path: str | None = None, *, n_ctx: int = 8192, threads: int | None = None,
                 exact: bool = True, device: str | None = None, dtype: str = "float32",
                 model=None, tokenizer=None, adapter: str | None = None) -> None:
        import torch

        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        if exact:
            # TF32 matmuls round differently by shape; plain fp32 keeps verification and
            # single-token decoding as close as the kernels allow.
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if model is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            kw = {}
            if model_path and model_path.endswith(".gguf"):
                model_path, kw["gguf_file"] = os.path.split(model_path)
            tokenizer = AutoTokenizer.from_pretrained(model_path, **kw)
            model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype), **kw)
        if adapter:  # a peft LoRA adapter folder (fastapply train), merged in: no per-call LoRA cost
            # (merging changes the given model's weights in place)
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        limit = getattr(model.config, "max_position_embeddings", n_ctx) or n_ctx
        self.n_ctx = min(n_ctx, limit)
        eos = getattr(model.generation_config, "eos_token_id", None) if hasattr(model, "generation_config") else None
        eos = eos if isinstance(eos, list) else [eos] if eos is not None else []
        if tokenizer is not None and tokenizer.eos_token_id is not None:
            eos.append(tokenizer.eos_token_id)
        self.eos_tokens = frozenset(eos)
        self.cached: list[int] = []
        self._cache = None

    @property
    def n_past(self) -> int:
        return len(self.cached)

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False, split_special_tokens=not special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        return self.tokenizer.decode(list(tokens), skip_special_tokens=True).encode()

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def forward(self, tokens: Sequence[int], *, last_only: bool = False) -> Greedy:
        torch = self.torch
        if self._cache is None:
            from transformers import DynamicCache

            self._cache = DynamicCache()
        ids = torch.tensor([list(tokens)], device=self.device)
        with torch.inference_mode():
            out = self.model(input_ids=ids, past_key_values=self._cache, use_cache=True,
                             logits_to_keep=1 if last_only else 0)
        self.cached.extend(int(t) for t in tokens)
        top2 = out.logits[0].float().topk(2, dim=-1)  # [n, 2]
        values, indices = top2.values.cpu().numpy(), top2.indices.cpu().numpy()
        return Greedy(indices[:, 0].astype(np.int64), values[:, 0] - values[:, 1])

    def truncate(self, n_keep: int) -> None:
        if not 0 <= n_keep <= self.n_past:
            raise ValueError(f"cannot keep {n_keep} of {self.n_past} cached tokens")
        if n_keep == 0:
            self._cache = None
        elif self._cache is not None and n_keep < self.n_past:
            # transformers 5 crops a config-less DynamicCache by a negative count only.
            self._cache.crop(n_keep - self.n_past)
        del self.cached[n_keep:]
