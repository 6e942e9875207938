"""How many draft tokens to verify in the next forward pass.

On a CPU the cost of verifying k tokens is nearly linear in k (a probe with SmolLM2-135M,
2 threads: 13/39/68/112/204/394 ms for k = 1/4/8/16/32/64), so each rejected draft token
costs about half a decode step, unlike on a GPU where verifying 8 or 64 tokens costs about
the same. Acceptance is bimodal: while the model copies unchanged code nearly every draft
token is accepted and long drafts pay (per-token cost falls from ~13 to ~6 ms); where it
writes new code, drafts fail at their first token. So: grow fast on full acceptance,
restart at the minimum after a partial one, and back off -- skip drafting for a growing
number of steps -- after drafts that fail outright, which bounds the cost of speculation
on a model that never copies to a few percent.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AdaptiveDraftLength:
    """Draft length and back-off from the outcome of the previous drafts.

    Example (initial=8, minimum=1, maximum=64, growth=2, max_backoff=16):
        next() -> 8;  observe(drafted=8,  accepted=8)  # full: grow
        next() -> 16; observe(drafted=16, accepted=5)  # partial: restart small
        next() -> 1;  observe(drafted=1,  accepted=0)  # failed outright: skip 1 step
        next() -> 0                                    # (plain decoding step)
        next() -> 1;  observe(drafted=1,  accepted=0)  # failed again: skip 2 steps
        next() -> 0;  next() -> 0
        next() -> 1;  observe(drafted=1,  accepted=1)  # full: grow, back-off cleared
        next() -> 2
    """

    initial: int = 8
    minimum: int = 1
    maximum: int = 64
    growth: int = 2
    max_backoff: int = 16

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.initial <= self.maximum:
            raise ValueError("need 1 <= minimum <= initial <= maximum")
        self._k = self.initial
        self._backoff = 0  # steps to skip after the next outright failure
        self._wait = 0  # steps left to skip now

    def next(self) -> int:
        if self._wait > 0:
            self._wait -= 1
            return 0
        return self._k

    def observe(self, drafted: int, accepted: int) -> None:
        if drafted == 0:
            return  # plain decoding step: nothing learnt about the draft source
        if accepted == drafted:
            self._k = min(self.maximum, max(self._k, drafted) * self.growth)
            self._backoff = 0
        elif accepted == 0:
            self._k = self.minimum
            self._backoff = min(self.max_backoff, max(1, 2 * self._backoff))
            self._wait = self._backoff
        else:
            self._k = self.minimum
