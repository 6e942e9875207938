"""Anchor snippet lines to original lines: a monotonic weighted alignment.

Candidates come in three levels: exact (trailing whitespace ignored), whitespace-
insensitive, and structural (same definition family and name, from tree-sitter).
A dynamic programme over candidate pairs picks the order-preserving set with the
most weight. Inside a hunk, skipping original lines costs a little (so the nearest
consistent match wins) and the original may not leave a block the snippet stays in
(so a generic ``return None`` cannot anchor inside the next function). Across a
marker, skipping is free: that is what the marker says.

The programme runs twice, breaking ties towards the earliest and the latest
predecessor; when the two anchorings differ, the caller checks whether that changes
the merged text (a repeated block the snippet does not disambiguate).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from fastapply.merge.segment import Hunk, indent, ws_key

EXACT, WHITESPACE, STRUCTURAL = "exact", "whitespace", "structural"
BLOCK = "block"  # a closer pinned to the end of the block its anchored opener starts
_WEIGHT = {EXACT: 1.0, WHITESPACE: 0.9, STRUCTURAL: 0.8}
_MAX_CANDIDATES = 40  # a line this common carries no position information
_DELETE_COST = 0.001  # per original line a hunk skips beyond the lines it rewrites
_DISTANCE_COST = 0.00001  # per skipped line anywhere inside a hunk: prefer the nearest
_EPS = 1e-9
# The programme is quadratic in the candidate pairs (about a second per thousand here). It
# gives way to _unique_chain past _DP_LIMIT pairs, or past _LONG_PAIRS in a file longer than
# _LONG_FILE lines. The benchmark's files (under 400 lines) peak at 3,946 pairs (whole
# definitions shown), so none of them take the fast path.
_DP_LIMIT = 6000
_LONG_PAIRS = 500
_LONG_FILE = 500


@dataclass(frozen=True)
class Anchor:
    orig: int
    level: str
    unique: bool  # the line had a single candidate in the original


def informative(line: str) -> bool:
    """Lines like ``}`` or ``)`` match everywhere; they are placed by structure, not here."""
    return sum(c.isalnum() for c in line) >= 2


def candidates(
    snippet: list[str],
    concrete: list[int],
    original: list[str],
    structural: dict[int, list[int]],
) -> list[tuple[int, int, str, bool]]:
    """(snippet line, original line, level, unique) for every plausible match."""
    exact: dict[str, list[int]] = {}
    loose: dict[str, list[int]] = {}
    for j, line in enumerate(original):
        if line.strip():
            exact.setdefault(line.rstrip(), []).append(j)
            loose.setdefault(ws_key(line), []).append(j)
    pairs = []
    for i in concrete:
        line = snippet[i]
        if not informative(line):
            continue
        same = exact.get(line.rstrip(), [])
        exact_set = set(same)
        near = [j for j in loose.get(ws_key(line), []) if j not in exact_set]
        found = [(j, EXACT) for j in same] + [(j, WHITESPACE) for j in near]
        if not found:
            found = [(j, STRUCTURAL) for j in structural.get(i, [])]
        if not found or len(found) > _MAX_CANDIDATES:
            continue
        pairs.extend((i, j, level, len(found) == 1) for j, level in sorted(found))
    return pairs


class _MinIndent:
    """Range minimum of indentation over non-blank lines (sparse table, O(1) query)."""

    def __init__(self, lines: list[str]):
        big = 1 << 30
        row = [indent(line) if line.strip() else big for line in lines]
        self.table = [row]
        width = 1
        while 2 * width <= len(row):
            prev = self.table[-1]
            self.table.append([min(prev[k], prev[k + width]) for k in range(len(row) - 2 * width + 1)])
            width *= 2

    def query(self, lo: int, hi: int) -> int:
        """Minimum over [lo, hi] inclusive."""
        level = (hi - lo + 1).bit_length() - 1
        row = self.table[level]
        return min(row[lo], row[hi - (1 << level) + 1])


def align(
    snippet: list[str],
    original: list[str],
    hunks: list[Hunk],
    pairs: list[tuple[int, int, str, bool]],
) -> tuple[dict[int, Anchor], dict[int, Anchor]]:
    """Best monotonic anchoring, once breaking ties early and once late."""
    hunk_of = {i: h for h, hunk in enumerate(hunks) for i in range(hunk.start, hunk.end + 1)}
    snip_min = _MinIndent(snippet)
    orig_min = _MinIndent(original)

    def link_cost(q, p) -> float | None:
        (iq, jq, _, _), (ip, jp, _, _) = q, p
        if jq >= jp:
            return None
        if hunk_of[iq] != hunk_of[ip]:
            return 0.0
        # The original between the two lines must not dedent further than the snippet does.
        snip_drop = snip_min.query(iq, ip) - indent(snippet[iq])
        orig_drop = orig_min.query(jq, jp) - indent(original[jq])
        if orig_drop < snip_drop:
            return None
        skipped = jp - jq - 1
        return _DELETE_COST * max(0, skipped - (ip - iq - 1)) + _DISTANCE_COST * skipped

    def run(late: bool) -> dict[int, Anchor]:
        score: list[float] = []
        back: list[int | None] = []
        for p, pair in enumerate(pairs):
            best, arg = _WEIGHT[pair[2]], None
            for q in range(p):
                if pairs[q][0] >= pair[0]:
                    break
                cost = link_cost(pairs[q], pair)
                if cost is None:
                    continue
                value = score[q] + _WEIGHT[pair[2]] - cost
                if value > best + _EPS or (late and arg is not None and abs(value - best) <= _EPS):
                    best, arg = value, q
            score.append(best)
            back.append(arg)
        if not pairs:
            return {}
        top = max(score)
        ends = [p for p, s in enumerate(score) if abs(s - top) <= _EPS]
        p: int | None = ends[-1] if late else ends[0]
        chosen: dict[int, Anchor] = {}
        while p is not None:
            i, j, level, unique = pairs[p]
            chosen[i] = Anchor(j, level, unique)
            p = back[p]
        return chosen

    # Pairs must be sorted by snippet line for the early break above.
    pairs.sort(key=lambda t: (t[0], t[1]))
    if len(pairs) > _DP_LIMIT or (len(pairs) > _LONG_PAIRS and len(original) > _LONG_FILE):
        chain = _unique_chain(pairs)
        return chain, dict(chain)
    return run(False), run(True)


def _unique_chain(pairs: list[tuple[int, int, str, bool]]) -> dict[int, Anchor]:
    """The longest chain of unique matches increasing in both texts (patience, O(n log n)).

    The programme above is quadratic in the pairs: minutes for a 20,000-line file shown
    nearly whole. Past ``_DP_LIMIT`` pairs (see there) the lines that match exactly once carry the
    alignment on their own, as in patience diff; repeated lines are placed by the splice's
    widening between them. The block rule and the early/late tie-breaking are given up
    there: a snippet that long is mostly context, and its unique lines leave little to break.
    """
    unique = [(i, j, level) for i, j, level, single in pairs if single]
    tails: list[int] = []  # tails[k]: the smallest original line ending a chain of length k + 1
    tail_at: list[int] = []  # index into unique of that chain's end
    back: list[int | None] = []
    for n, (_, j, _) in enumerate(unique):
        k = bisect.bisect_left(tails, j)
        back.append(tail_at[k - 1] if k else None)
        if k == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[k], tail_at[k] = j, n
    chain: dict[int, Anchor] = {}
    at = tail_at[-1] if tail_at else None
    while at is not None:
        i, j, level = unique[at]
        chain[i] = Anchor(j, level, True)
        at = back[at]
    return chain
