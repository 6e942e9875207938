"""Draft sources for speculative edits.

A drafter proposes the tokens it expects the model to write next, and is told every
token the model actually wrote. It never sees logits and never errors: an empty
proposal means "decode normally" (as in transformers' prompt lookup).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol


class Drafter(Protocol):
    def propose(self, k: int) -> list[int]:
        """Up to k token ids expected next; [] when there is no good guess."""

    def advance(self, tokens: Sequence[int]) -> None:
        """Tell the drafter which tokens were emitted (accepted draft + bonus)."""


class CopyDrafter:
    """Copies chunks from one or more token sources, re-syncing after divergences.

    sources: token arrays in priority order, e.g. ``[merged_file, original_file, snippet]``
    (each as the model should write it, the closing tag included). Drafting starts at the
    beginning of ``sources[0]``: the answer is expected to start with the file.

    While synced, a pointer ``(source, pos)`` says which source token the model should
    write next; each emitted token that equals ``source[pos]`` moves it on. On the first
    token that differs, the drafter is unsynced and proposes nothing (plain decoding)
    until the last ``n`` emitted tokens (n from ``ngram_max`` down to ``ngram_min``)
    occur again in some source. Among the matches, the one nearest *after* that source's
    last synced position wins -- edits move forward through a file; ties go to the
    earlier source. Only when no source has a forward match does a backward one count
    (nearest first), which covers edits that repeat earlier code.

    Example (sources=[[1, 2, 3, 4, 5, 6], [9, 3, 8, 7]], ngram_min=2, ngram_max=2):
        propose(3)          -> [1, 2, 3]
        advance([1, 2, 3])  # as drafted: pointer (0, 3)
        propose(2)          -> [4, 5]
        advance([8])        # model wrote 8, not 4; the tail [3, 8] occurs in source 1
        propose(2)          -> [7]         # copying the snippet, which ends here
        advance([7, 4])     # source 1 is used up at 4: unsynced; tail [7, 4] occurs nowhere
        propose(2)          -> []          # plain decoding
        advance([5])        # tail [4, 5] occurs in source 0, ahead of its last position 3
        propose(2)          -> [6]
    """

    def __init__(self, sources: Sequence[Sequence[int]], *, ngram_min: int = 2, ngram_max: int = 4) -> None:
        if not 1 <= ngram_min <= ngram_max:
            raise ValueError("need 1 <= ngram_min <= ngram_max")
        self.sources = [list(s) for s in sources]
        self.ngram_min, self.ngram_max = ngram_min, ngram_max
        # index[n][ngram] -> [(source, end position)], end = index just after the n-gram
        self._index: dict[int, dict[tuple[int, ...], list[tuple[int, int]]]] = {}
        for n in range(ngram_min, ngram_max + 1):
            table: dict[tuple[int, ...], list[tuple[int, int]]] = defaultdict(list)
            for s, toks in enumerate(self.sources):
                for end in range(n, len(toks) + 1):
                    table[tuple(toks[end - n : end])].append((s, end))
            self._index[n] = dict(table)
        self._last = [0] * len(self.sources)  # last synced position per source
        self._tail: list[int] = []  # the last ngram_max emitted tokens
        self.pointer: tuple[int, int] | None = (0, 0) if self.sources else None
        self.resyncs = 0

    def propose(self, k: int) -> list[int]:
        if self.pointer is None or k <= 0:
            return []
        s, pos = self.pointer
        return self.sources[s][pos : pos + k]

    def advance(self, tokens: Sequence[int]) -> None:
        for tok in tokens:
            self._tail.append(tok)
            if self.pointer is not None:
                s, pos = self.pointer
                src = self.sources[s]
                if pos < len(src) and src[pos] == tok:
                    self.pointer = (s, pos + 1)
                    self._last[s] = pos + 1
                    continue
                self.pointer = None
        del self._tail[: -self.ngram_max]
        if self.pointer is None:
            self.pointer = self._resync()
            if self.pointer is not None:
                self.resyncs += 1

    def _resync(self) -> tuple[int, int] | None:
        for n in range(min(self.ngram_max, len(self._tail)), self.ngram_min - 1, -1):
            hits = self._index[n].get(tuple(self._tail[-n:]))
            if hits:
                return _nearest(hits, self._last, self.sources)
        return None


def _nearest(hits: Iterable[tuple[int, int]], last: Sequence[int], sources: Sequence[Sequence[int]]) -> tuple[int, int] | None:
    """Pick the match nearest after its source's last synced position (see CopyDrafter)."""
    best_key, best = None, None
    for s, end in hits:
        if end >= len(sources[s]):
            continue  # nothing left to copy after this match
        d = end - last[s]
        key = (0, d, s) if d >= 0 else (1, -d, s)
        if best_key is None or key < best_key:
            best_key, best = key, (s, end)
    return best
