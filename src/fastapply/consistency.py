"""What it means for a result to apply a lazy snippet, checked exactly.

A lazy snippet is hunks of code separated by elision markers. A result is *consistent* with
the original and the snippet when it can be cut into

    run_0  hunk_1  run_1  hunk_2  ...  hunk_k  run_k

where each hunk is the snippet's code between two markers, appearing whole and contiguous
(lines adjacent in the snippet are adjacent in the result), and each run is a contiguous
stretch of original lines, the runs in original order without overlap (every other result
line is an original line, in order; original lines in no run were deleted or replaced). A
run stands where the snippet has a marker; at an edge without a marker a run is still
allowed (models forget edge markers) but reported. Comparison ignores whitespace inside a
line and blank lines, which editors and the merge's indentation repair change.

    >>> original = "a\\nb\\nc\\nd\\ne\\n"
    >>> snippet = "# ...\\nb\\nC\\nd\\n# ...\\n"
    >>> check(original, snippet, "a\\nb\\nC\\nd\\ne\\n").ok
    True
    >>> check(original, snippet, "a\\nb\\nC\\nc\\nd\\ne\\n").ok   # old line kept beside the new one
    False

A wrong result that still passes is possible (a marker may stand for an original line the edit
meant to replace); a right result never fails, so refusing what fails costs no right answer.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from .elision import is_elision as default_is_marker


@dataclass
class Consistency:
    ok: bool
    reason: str = ""  # why not, in words, when not ok
    edge_runs: list[str] = field(default_factory=list)  # "start"/"end": original kept at an unmarked edge


def _key(line: str) -> str:
    return "".join(line.split())


def hunks(snippet: str, original: str = "", is_marker: Callable[[str], bool] = default_is_marker
          ) -> tuple[list[list[str]], bool, bool]:
    """The snippet's hunks (non-blank lines, as keys): the code before the first marker, between
    each two, after the last (any may be empty); and whether it starts and ends with a marker.

    A marker-shaped line that the original has too (a stub's ``...``) is code. Two markers with
    only blank lines between them are two elisions with a gap: an empty hunk, so the runs on
    either side need not be one contiguous stretch (the lines between them were deleted).
    """
    own = {_key(line) for line in original.splitlines() if is_marker(line)}
    lines = [line for line in snippet.splitlines() if line.strip()]
    flags = [is_marker(line) and _key(line) not in own for line in lines]
    out: list[list[str]] = [[]]  # the code before the first marker, between markers, after the last
    for line, marker in zip(lines, flags):
        if marker:
            out.append([])
        else:
            out[-1].append(_key(line))
    return out, bool(flags) and flags[0], bool(flags) and flags[-1]


def check(original: str, snippet: str, result: str, *, is_marker: Callable[[str], bool] = default_is_marker,
          max_states: int = 200_000) -> Consistency:
    """Whether ``result`` applies ``snippet`` to ``original`` in the sense of the module docstring."""
    blocks, starts, ends = hunks(snippet, original, is_marker)
    orig = [_key(line) for line in original.splitlines() if line.strip()]
    res = [_key(line) for line in result.splitlines() if line.strip()]
    if not any(blocks):
        return Consistency(res == orig, "" if res == orig else "the snippet has no code but the result differs")
    where: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(orig):
        where[key].append(i)

    def run_end(r0: int, r1: int, o0: int) -> int | None:
        """res[r0:r1] as a contiguous slice of orig starting at or after o0: its end, earliest first."""
        if r0 == r1:
            return o0
        for start in where.get(res[r0], ()):
            if start >= o0 and orig[start : start + r1 - r0] == res[r0:r1]:
                return start + r1 - r0
        return None

    def places(block: list[str], lo: int) -> list[int]:
        n = len(block)
        if n == 0:  # a gap between two markers: anywhere
            return list(range(lo, len(res) + 1))
        return [r for r in range(lo, len(res) - n + 1) if res[r] == block[0] and res[r : r + n] == block]

    # states: result position after a hunk -> the least original position reached (earliest is
    # never worse for what follows, so one number per position suffices).
    states = {0: 0}
    budget = max_states
    for index, block in enumerate(blocks):
        nxt: dict[int, int] = {}
        for r, o in states.items():
            for p in places(block, r):
                budget -= 1
                if budget < 0:
                    return Consistency(False, "too many ways to place the snippet's hunks to check")
                end = run_end(r, p, o)
                if end is not None and (p + len(block) not in nxt or end < nxt[p + len(block)]):
                    nxt[p + len(block)] = end
        if not nxt:
            shown = block[0][:60] if block else "(a gap)"
            return Consistency(False, f"hunk {index + 1} of the snippet (from {shown!r}) does not appear whole, "
                                      "between runs of original lines in order")
        states = nxt
    for r, o in sorted(states.items()):
        if run_end(r, len(res), o) is not None:
            edges = (["start"] if not starts and blocks[0] and res[: len(blocks[0])] != blocks[0] else []) + \
                    (["end"] if not ends and r < len(res) else [])
            return Consistency(True, edge_runs=edges)
    return Consistency(False, "the lines after the last hunk are not a run of original lines")
