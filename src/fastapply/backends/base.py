"""The protocol every inference backend implements.

The speculative core (fastapply.speculative) talks to a backend only through this. A backend
holds one sequence: a KV cache of ``n_past`` tokens that ``forward`` extends and
``truncate`` rolls back.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Greedy:
    """The model's greedy choice at each evaluated position.

    tokens:  [n] int   argmax token id after each input position
    margins: [n] float top-1 minus top-2 logit; small margins mark near-ties, where
             batched and single-token evaluation may legitimately round differently
    """

    tokens: np.ndarray
    margins: np.ndarray


@runtime_checkable
class Engine(Protocol):
    name: str
    n_ctx: int  # tokens the KV cache can hold (prompt + answer)
    n_past: int  # tokens currently in the KV cache
    cached: list[int]  # [n_past] the token ids in the KV cache, for prefix reuse
    eos_tokens: frozenset[int]

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        """Text to token ids; ``special`` parses control tokens such as <|im_end|>."""

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids to raw bytes (a token can end inside a UTF-8 character)."""

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """The model's own chat template applied, with the assistant turn opened."""

    def forward(self, tokens: Sequence[int], *, last_only: bool = False) -> Greedy:
        """Append tokens to the KV cache in one batch; greedy choice at each position.

        last_only: compute logits for the last position only (prefill): asking for
        logits everywhere costs memory and time for nothing there.
        """

    def truncate(self, n_keep: int) -> None:
        """Roll the KV cache back to its first n_keep tokens."""

