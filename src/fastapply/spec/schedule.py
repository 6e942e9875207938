"""How many draft tokens to verify in the next forward pass.

On a CPU the cost of verifying k tokens is nearly linear in k (a probe with SmolLM2-135M,
2 threads: 13/39/68/112/204/394 ms for k = 1/4/8/16/32/64), so a rejected draft token
costs real time, unlike on a GPU where verifying 8 or 64 tokens costs about the same.
Full acceptance is the common case while the model copies unchanged code, and there long
drafts pay (per-token cost falls from ~13 to ~6 ms). Right after a rejection the drafter
has just re-synced on a few tokens and is often wrong, so we restart small.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AdaptiveDraftLength:
    """Multiplicative growth on full acceptance, reset on rejection.

    Example (initial=8, minimum=4, maximum=64, growth=2):
        next() -> 8;  observe(drafted=8,  accepted=8)  -> next() -> 16
        next() -> 16; observe(drafted=16, accepted=16) -> next() -> 32
        next() -> 32; observe(drafted=32, accepted=5)  -> next() -> 4
    """

    initial: int = 8
    minimum: int = 4
    maximum: int = 64
    growth: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.initial <= self.maximum:
            raise ValueError("need 1 <= minimum <= initial <= maximum")
        self._k = self.initial

    def next(self) -> int:
        return self._k

    def observe(self, drafted: int, accepted: int) -> None:
        if drafted == 0:
            return  # plain decoding step: nothing learnt about the draft source
        if accepted == drafted:
            self._k = min(self.maximum, max(self._k, drafted) * self.growth)
        else:
            self._k = self.minimum
