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

from dataclasses import dataclass

from fastapply.merge.segment import Hunk, indent, ws_key

EXACT, WHITESPACE, STRUCTURAL = "exact", "whitespace", "structural"
BLOCK = "block"  # a closer pinned to the end of the block its anchored opener starts
_WEIGHT = {EXACT: 1.0, WHITESPACE: 0.9, STRUCTURAL: 0.8}
_MAX_CANDIDATES = 40  # a line this common carries no position information
_DELETE_COST = 0.001  # per original line a hunk skips beyond the lines it rewrites
_DISTANCE_COST = 0.00001  # per skipped line anywhere inside a hunk: prefer the nearest
_EPS = 1e-9


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
        near = [j for j in loose.get(ws_key(line), []) if j not in set(same)]
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
    return run(False), run(True)
