"""Greedy verification of a draft.

Glossary (as in vLLM's rejection sampler, specialised to greedy decoding):

- *draft tokens*: tokens proposed without the model (copied from the file or snippet).
- *greedy tokens*: the model's argmax at every verified position. Verifying a draft of
  length k feeds ``[last, d0, ..., d{k-1}]`` in one forward pass and yields k+1 greedy
  tokens: the choice after ``last``, after ``d0``, ... after ``d{k-1}``.
- *accepted tokens*: the longest draft prefix equal to the greedy tokens.
- *bonus token*: the greedy token right after the accepted prefix. It is always correct
  (it is exactly what plain greedy decoding would emit there), so each forward pass
  yields at least one token and speculation can never be slower in token count.
- *rejected tokens*: the rest of the draft; the backend rolls its KV cache back over them.

Because every emitted token is the model's own argmax given the emitted prefix, the
output equals plain greedy decoding token for token (up to the backend's batch
invariance, which the tests check).
"""
from __future__ import annotations

from collections.abc import Sequence


def accept_greedy(draft: Sequence[int], greedy: Sequence[int]) -> tuple[int, int]:
    """Return ``(n_accepted, bonus_token)`` for a draft verified in one forward pass.

    draft:  [k]    proposed token ids
    greedy: [k+1]  the model's argmax after the last emitted token and after each draft token

    Example:
        draft  = [5, 7, 9, 2]
        greedy = [5, 7, 4, 8, 1]   # model agrees on 5, 7, then wants 4 instead of 9
        -> (2, 4): emit 5, 7 (accepted) and 4 (bonus); 9 and 2 are rejected.

        draft  = []          # empty draft: plain decoding
        greedy = [3]
        -> (0, 3)
    """
    if len(greedy) != len(draft) + 1:
        raise ValueError(f"need len(draft)+1 greedy tokens, got {len(greedy)} for a draft of {len(draft)}")
    n = 0
    while n < len(draft) and draft[n] == greedy[n]:
        n += 1
    return n, int(greedy[n])
