"""llama.cpp backend on llama-cpp-python's low-level C API (0.3.36).

Why not the high-level ``Llama`` class: it cannot turn off weight repacking
(``use_extra_bufts``), which exact speculative decoding needs for some models, and its
``logits_all=True`` computes logits at every prompt position (a probe: ~4 GB reserved
for Gemma, 2-4x slower prefill). Here logits are asked for only where we verify.
"""
from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence

import llama_cpp as C
import numpy as np
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from ..errors import ConfigError
from .base import Greedy
from .chat import fallback_chat as _fallback_chat


@C.llama_log_callback
def _quiet(level, text, user_data):  # llama.cpp logs every load to stderr; keep the CLI clean
    pass


class LlamaCppEngine:
    name = "llama"

    def __init__(
        self,
        model_path: str,
        *,
        n_ctx: int = 8192,
        threads: int = 2,
        n_batch: int = 512,
        exact: bool = True,
        verbose: bool = False,
        adapter: str | None = None,
        adapter_scale: float = 1.0,
    ) -> None:
        if exact:  # see also flash attention below
            # Batch invariance: the logits of a position must not depend on how many tokens
            # share its forward pass, or verified drafts and plain decoding round apart and
            # speculative output drifts from greedy output. Repacked weights ("extra buffer
            # types") and ggml's tiled matmul both switch kernels by batch size; the switch
            # is read once per process, on the first matmul. (llamafile's sgemm does the
            # same: setup.sh builds without it.)
            os.environ["GGML_CPU_TILED_MM"] = "0"
        if not verbose:
            C.llama_log_set(_quiet, ctypes.c_void_p(0))
        C.llama_backend_init()
        mp = C.llama_model_default_params()
        mp.n_gpu_layers = 0
        mp.use_extra_bufts = not exact
        self._model = C.llama_model_load_from_file(model_path.encode(), mp)
        if not self._model:
            raise ConfigError(f"llama.cpp could not load {model_path!r} (not a GGUF model it supports?)")
        self._vocab = C.llama_model_get_vocab(self._model)
        self.n_vocab = C.llama_vocab_n_tokens(self._vocab)
        self.n_ctx_train = C.llama_model_n_ctx_train(self._model)

        cp = C.llama_context_default_params()
        cp.n_ctx = min(n_ctx, self.n_ctx_train)
        cp.n_batch = cp.n_ubatch = n_batch
        cp.n_threads = cp.n_threads_batch = threads
        cp.no_perf = True
        if exact:
            # Flash attention on the CPU accumulates differently for one query row than
            # for a batch of them: a probe here found argmax mismatches at batch 2 already
            # (4/64 positions, SmolLM2), and none at any batch size 1-64 with it off.
            cp.flash_attn_type = C.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self._ctx = C.llama_init_from_model(self._model, cp)
        if not self._ctx:
            raise ConfigError(f"llama.cpp could not create a context of {cp.n_ctx} tokens")
        self._lora = None
        if adapter:  # a GGUF LoRA adapter (fastapply export), applied at run time on the base
            self._lora = C.llama_adapter_lora_init(self._model, str(adapter).encode())
            if not self._lora:
                self.close()
                raise ConfigError(f"llama.cpp could not load the LoRA adapter {adapter!r} "
                                  "(not a GGUF adapter for this model? see: fastapply export)")
            adapters = (C.llama_adapter_lora_p_ctypes * 1)(self._lora)
            scales = (ctypes.c_float * 1)(adapter_scale)
            if C.llama_set_adapters_lora(self._ctx, adapters, 1, scales) != 0:
                self.close()
                raise ConfigError(f"llama.cpp could not apply the LoRA adapter {adapter!r}")
        self._mem = C.llama_get_memory(self._ctx)
        self.n_ctx = C.llama_n_ctx(self._ctx)
        self.n_batch = n_batch
        self._batch = C.llama_batch_init(n_batch, 0, 1)
        self.cached: list[int] = []
        self.eos_tokens = frozenset(t for t in range(self.n_vocab) if C.llama_vocab_is_eog(self._vocab, t))
        self._piece = ctypes.create_string_buffer(256)
        template = C.llama_model_chat_template(self._model, None)
        self._template = template.decode() if template else None

    # -- text <-> tokens --------------------------------------------------------------
    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        data = text.encode()
        n_max = len(data) + 16
        buf = (C.llama_token * n_max)()
        n = C.llama_tokenize(self._vocab, data, len(data), buf, n_max, False, special)
        if n < 0:  # cannot happen with one token per byte plus slack, but be exact
            raise RuntimeError(f"llama_tokenize needed {-n} tokens")
        return list(buf[:n])

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        out = bytearray()
        for t in tokens:
            n = C.llama_token_to_piece(self._vocab, t, self._piece, len(self._piece), 0, False)
            out += self._piece.raw[:n]
        return bytes(out)

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        if not self._template:
            return _fallback_chat(messages, gemma=len(self.tokenize("<start_of_turn>", special=True)) == 1)

        def text(tok: int) -> str:
            return C.llama_vocab_get_text(self._vocab, tok).decode() if tok >= 0 else ""

        fmt = Jinja2ChatFormatter(
            self._template,
            eos_token=text(C.llama_vocab_eos(self._vocab)),
            bos_token=text(C.llama_vocab_bos(self._vocab)),
            add_generation_prompt=True,
        )
        return fmt(messages=messages).prompt

    # -- the KV cache -----------------------------------------------------------------
    def forward(self, tokens: Sequence[int], *, last_only: bool = False) -> Greedy:
        if not tokens:
            raise ValueError("forward needs at least one token")
        if self.n_past + len(tokens) > self.n_ctx:
            raise ValueError(f"{self.n_past}+{len(tokens)} tokens exceed the context of {self.n_ctx}")
        rows = []
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            final = start + len(chunk) == len(tokens)
            want = [final and (not last_only or i == len(chunk) - 1) for i in range(len(chunk))]
            self._decode(chunk, want)
            if final:
                n_out = sum(want)
                logits = np.ctypeslib.as_array(C.llama_get_logits(self._ctx), shape=(n_out * self.n_vocab,))
                rows = logits.reshape(n_out, self.n_vocab)
        top2 = np.partition(rows, -2, axis=1)[:, -2:]  # [n, 2]
        return Greedy(rows.argmax(axis=1), top2[:, 1] - top2[:, 0])

    def _decode(self, chunk: Sequence[int], want_logits: Sequence[bool]) -> None:
        b = self._batch
        b.n_tokens = len(chunk)
        for i, tok in enumerate(chunk):
            b.token[i] = tok
            b.pos[i] = self.n_past + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = want_logits[i]
        rc = C.llama_decode(self._ctx, b)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed with code {rc}")
        self.cached.extend(chunk)

    def truncate(self, n_keep: int) -> None:
        if not 0 <= n_keep <= self.n_past:
            raise ValueError(f"cannot keep {n_keep} of {self.n_past} cached tokens")
        C.llama_memory_seq_rm(self._mem, 0, n_keep, -1)
        del self.cached[n_keep:]

    @property
    def n_past(self) -> int:
        return len(self.cached)

    def close(self) -> None:
        if getattr(self, "_ctx", None):
            if getattr(self, "_batch", None) is not None:
                C.llama_batch_free(self._batch)
                self._batch = None
            C.llama_free(self._ctx)
            if getattr(self, "_lora", None):  # after the context that uses it, before its model
                C.llama_adapter_lora_free(self._lora)
                self._lora = None
            C.llama_model_free(self._model)
            self._ctx = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
