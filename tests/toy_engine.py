"""A deterministic toy language model implementing the Engine protocol exactly.

Not a stand-in for the real models (the model tier tests those): it exists to test the
speculative core's bookkeeping -- KV-cache lengths, rollback, stop handling -- against a
model whose greedy output is known. Its "model": the next token is a fixed function of
the last two tokens in the KV cache (a hash), so greedy decoding is a deterministic
sequence and any cache bookkeeping error changes the output.
"""
from __future__ import annotations

import numpy as np

from fastapply.backends.base import Greedy


class ToyEngine:
    name = "toy"

    def __init__(self, vocab: int = 50, n_ctx: int = 4096, table: dict | None = None, eos: int | None = None):
        self.vocab, self.n_ctx = vocab, n_ctx
        self.table = table or {}  # (a, b) -> next token overrides, to script outputs
        self.eos_tokens = frozenset() if eos is None else frozenset({eos})
        self.cached: list[int] = []
        self.forward_calls: list[int] = []  # batch sizes

    @property
    def n_past(self) -> int:
        return len(self.cached)

    def next_token(self, a: int, b: int) -> int:
        if (a, b) in self.table:
            return self.table[(a, b)]
        return (a * 31 + b * 17 + 7) % self.vocab

    def forward(self, tokens, *, last_only=False) -> Greedy:
        self.forward_calls.append(len(tokens))
        out = []
        for t in tokens:
            self.cached.append(int(t))
            a = self.cached[-2] if len(self.cached) > 1 else 0
            out.append(self.next_token(a, self.cached[-1]))
        if len(self.cached) > self.n_ctx:
            raise RuntimeError("context overflow")
        if last_only:
            out = out[-1:]
        return Greedy(np.array(out), np.ones(len(out)))

    def truncate(self, n_keep: int) -> None:
        assert 0 <= n_keep <= len(self.cached)
        del self.cached[n_keep:]



class ScriptedEngine:
    """A character-level engine whose greedy answer to any prompt is a fixed script.

    Token ids are Unicode code points; after the prompt the model "wants" to write
    ``script`` one character at a time, then EOS. Used to drive the Applier's guards
    (early stop, leaked markers) deterministically, which a real small model does only
    by chance. The real models are exercised in tests/test_model_*.py.
    """

    name = "scripted"
    EOS = 0

    def __init__(self, script: str, n_ctx: int = 100_000):
        self.script = [ord(c) for c in script]
        self.n_ctx = n_ctx
        self.eos_tokens = frozenset({self.EOS})
        self.cached: list[int] = []
        self.prompt_len = 0

    @property
    def n_past(self) -> int:
        return len(self.cached)

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens) -> bytes:
        return "".join(chr(t) for t in tokens).encode()

    def chat_prompt(self, messages) -> str:
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<assistant>"

    def forward(self, tokens, *, last_only=False) -> Greedy:
        out = []
        for t in tokens:
            self.cached.append(int(t))
            i = len(self.cached) - self.prompt_len  # answer tokens so far, incl. this one
            out.append(self.script[i] if 0 <= i < len(self.script) else self.EOS)
        if last_only:  # a prefill: the answer starts after it
            self.prompt_len = len(self.cached)
            out = [self.script[0] if self.script else self.EOS]
        return Greedy(np.array(out), np.ones(len(out)))

    def truncate(self, n_keep: int) -> None:
        del self.cached[n_keep:]



class PromptScriptedEngine(ScriptedEngine):
    """A ScriptedEngine whose script is a function of the prompt: ``answer(prompt_text)``.

    The script is chosen at each prefill, so one engine can answer several different
    prompts in turn (the windows of a large file, each with its own right answer).
    ``prompts`` records every prompt it was asked.
    """

    name = "prompt-scripted"

    def __init__(self, answer, n_ctx: int = 100_000):
        super().__init__("", n_ctx)
        self.answer = answer
        self.prompts: list[str] = []

    def forward(self, tokens, *, last_only=False) -> Greedy:
        if last_only:  # a prefill: a new prompt, a new script
            text = "".join(chr(t) for t in [*self.cached, *tokens])
            self.prompts.append(text)
            self.script = [ord(c) for c in self.answer(text)]
        return super().forward(tokens, last_only=last_only)
