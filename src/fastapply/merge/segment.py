"""Split a lazy snippet into hunks of concrete lines separated by elision markers.

Example (``# ...`` lines are markers; hunks are the concrete runs between them):

    # ... existing code ...
    def f():
        return 2
    # ... existing code ...

gives one hunk, lines 1..2, with a marker before (indent 0) and after (indent 0).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fastapply.elision import reads_as_elision
from fastapply.languages import LANGUAGES
from fastapply.markers import is_marker

_ELLIPSIS_ONLY = re.compile(r"^\s*(?:\.{3}|…)\s*$")
_HAS_ELLIPSIS = re.compile(r"\.{3}|…")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Hunk:
    start: int  # first snippet line index (inclusive)
    end: int  # last snippet line index (inclusive)
    marker_before: int | None  # indent of the marker just before, None at the snippet edge
    marker_after: int | None  # indent of the marker just after, None at the snippet edge


def indent(line: str) -> int:
    """Indent width with tabs counted as 4 columns (only relative indents are compared)."""
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def ws_key(line: str) -> str:
    """The line with all whitespace removed: the whitespace-insensitive comparison key."""
    return "".join(line.split())


def strip_fences(lines: list[str]) -> list[str]:
    """Drop a Markdown code fence wrapping the whole snippet, which models often add."""
    body = [i for i, line in enumerate(lines) if line.strip()]
    if len(body) >= 2 and _FENCE.match(lines[body[0]]) and lines[body[-1]].strip() in ("```", "~~~"):
        return lines[body[0] + 1 : body[-1]]
    return lines


def _next_nonblank(lines: list[str], i: int, step: int) -> int | None:
    i += step
    while 0 <= i < len(lines):
        if lines[i].strip():
            return i
        i += step
    return None


def _python_stub_body(lines: list[str], i: int, original_ws: dict[str, list[int]], original: list[str]) -> bool:
    """Whether a bare ``...`` in Python is real code (a stub body) rather than an elision.

    It is code when it is the sole statement of a block (``def f(): ...`` style stub)
    and the original does not show that block with a different body: a block the
    original has with real statements means the snippet elides that body.
    """
    p = _next_nonblank(lines, i, -1)
    if p is None or not lines[p].rstrip().endswith(":") or indent(lines[i]) <= indent(lines[p]):
        return False
    n = _next_nonblank(lines, i, 1)
    if n is not None and indent(lines[n]) > indent(lines[p]):
        return False  # more body follows, so "..." stands for part of it
    header = original_ws.get(ws_key(lines[p]), [])
    if not header:
        return True  # a new stub
    return any(
        (j2 := _next_nonblank(original, j, 1)) is not None and _ELLIPSIS_ONLY.match(original[j2])
        for j in header
    )


def classify(lines: list[str], original: list[str], language: str) -> list[bool]:
    """Marker flag per snippet line, with the context checks ``is_marker`` cannot make alone.

    Example: in Python, ``def stub():`` followed by an indented ``...`` and a dedent is a
    stub body (code); ``...`` after ``def f():`` whose original body is real code is a
    marker. A marker-looking comment without an ellipsis ("# other methods") that the
    original contains verbatim is a real comment, not an elision; one the original lacks
    that reads as an elision in any wording (``elision.reads_as_elision``) is a marker.
    """
    original_ws: dict[str, list[int]] = {}
    for j, line in enumerate(original):
        original_ws.setdefault(ws_key(line), []).append(j)
    verbatim = {line.strip() for line in original}
    syntax = LANGUAGES.get(language)
    flags = []
    for i, line in enumerate(lines):
        # An elision in other words (``# (existing code)``) counts only where the original lacks
        # the line: a comment the file already has is a context line.
        flag = is_marker(line) or (reads_as_elision(line, syntax) and line.strip() not in verbatim)
        if flag and language == "python" and _ELLIPSIS_ONLY.match(line):
            flag = not _python_stub_body(lines, i, original_ws, original)
        elif flag and not _HAS_ELLIPSIS.search(line) and line.strip() in verbatim:
            flag = False
        flags.append(flag)
    return flags


def split_hunks(lines: list[str], flags: list[bool]) -> list[Hunk]:
    """Maximal runs of concrete lines; runs of only blank lines carry no content and are dropped."""
    hunks: list[Hunk] = []
    i, before = 0, None
    while i < len(lines):
        if flags[i]:
            before = indent(lines[i])
            i += 1
            continue
        j = i
        while j + 1 < len(lines) and not flags[j + 1]:
            j += 1
        after = indent(lines[j + 1]) if j + 1 < len(lines) else None
        if any(lines[k].strip() for k in range(i, j + 1)):
            hunks.append(Hunk(i, j, before, after))
        i = j + 1
    return hunks
