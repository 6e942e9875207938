"""An engine whose greedy answer is always the right file: what a draft is worth to a perfect model.

Speculative decoding is lossless, so a draft speeds up only the tokens the model writes
anyway, and by how much depends on how much of the model's answer the draft already holds.
A small model that rarely writes the right file cannot show what the merge draft is worth;
``OracleEngine`` can. It plays an apply model that writes the expected file for every prompt
(with a real model's tokenizer and chat template), so tokens per forward pass measure the
drafter alone, with and without the merged file as its first source, on every task and with
no model forward pass at all.

    oracle = OracleEngine(real_engine, answers={tuple(prompt_ids): expected_file})
    Applier(settings, engine=oracle).apply(original, snippet, mode="auto")

Example: for a prompt ``[5, 6]`` whose right file tokenizes to ``[1, 2]`` and a closing tag
to ``[9]``, ``forward([5, 6], last_only=True)`` chooses ``[1]``, and ``forward([1, 2, 7])``
(the pending ``1``, then the draft ``[2, 7]``) chooses ``[2, 9, eos]``: the oracle agrees
with the draft's ``2`` and rejects its ``7``, as a model that wants to write ``1 2 9`` would.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fastapply import prompt
from fastapply.backends.base import Greedy


class OracleEngine:
    """Engine protocol over ``tokenizer``'s vocabulary; greedy output = ``answers[prompt]``.

    ``answers`` maps a prompt's token ids (as ``Applier.prompt_tokens`` makes them) to the
    file the model should write. A prompt not in it (a window of a long file, say) raises
    KeyError: the oracle never guesses.
    """

    name = "oracle"

    def __init__(self, tokenizer, answers: Mapping[tuple[int, ...], str], n_ctx: int = 1 << 30) -> None:
        self.tokenizer, self.answers, self.n_ctx = tokenizer, answers, n_ctx
        eos = sorted(tokenizer.eos_tokens)
        self.eos = eos[0] if eos else -1
        self.eos_tokens = frozenset(eos)
        self.cached: list[int] = []
        self.script: list[int] = []  # [answer tokens] what the model writes after the prompt
        self.prompt_len = 0

    @property
    def n_past(self) -> int:
        return len(self.cached)

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        return self.tokenizer.tokenize(text, special=special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        return self.tokenizer.detokenize(tokens)

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.chat_prompt(messages)

    def forward(self, tokens: Sequence[int], *, last_only: bool = False) -> Greedy:
        self.cached.extend(int(t) for t in tokens)
        if last_only:  # a prefill: the prompt is complete, the answer starts after it
            self.prompt_len = len(self.cached)
            self.script = self.tokenize(prompt.expected_answer(self.answers[tuple(self.cached)]))
            out = [self._at(0)]
        else:
            # Position p (0-based in the cache) predicts answer token p + 1 - prompt_len.
            start = len(self.cached) - len(tokens)
            out = [self._at(p + 1 - self.prompt_len) for p in range(start, len(self.cached))]
        return Greedy(np.array(out), np.ones(len(out)))

    def _at(self, i: int) -> int:
        return self.script[i] if 0 <= i < len(self.script) else self.eos

    def truncate(self, n_keep: int) -> None:
        del self.cached[n_keep:]
