"""What a line defines, and where the statement it starts ends: rewrites placed by name.

A snippet often rewrites a whole statement without showing a line of the old one: a
one-line ``__all__ = ("a", "b")`` becomes a multi-line tuple, a list constant gains an item,
a function is shown whole with a new signature. No line anchors, yet the snippet says
exactly what it replaces: the original statement that binds the same name.

    >>> key("__all__ = (")
    'assign:__all__'
    >>> key("export const LIMIT: number = 10;")
    'assign:LIMIT'
    >>> key("    def render(self, x):")
    'def:render'
    >>> key("return x == 1")
    >>> original = ['X = [', '    1,', ']', 'Y = 2']
    >>> extent(original, 0)
    2

Keys are textual (no parser needed) and deliberately narrow: a name bound at the start of
the line, by ``=`` (not ``==``), a declaration keyword, or a definition keyword.
"""
from __future__ import annotations

import re

from fastapply.merge.segment import indent

_DECLARE = r"(?:export\s+)?(?:default\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:static\s+)?(?:const|let|var|final|readonly)?\s*"
_ASSIGN = re.compile(_DECLARE + r"([A-Za-z_$][\w$.]*)\s*(?::[^=]{1,80})?=(?![=>])")
_DEFINE = re.compile(
    r"(?:export\s+)?(?:default\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?"
    r"(def|class|function\*?|fn|struct|enum|interface|trait|type|impl)\s+([A-Za-z_$][\w$]*)"
)
_OPEN, _CLOSE = "([{", ")]}"
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`\\]|\\.)*`")


def key(line: str) -> str | None:
    """``assign:NAME`` or ``def:NAME`` for a line that binds NAME at its start, else None."""
    text = line.strip()
    match = _DEFINE.match(text)
    if match:
        return f"def:{match.group(2)}"
    match = _ASSIGN.match(text)
    if match and not text.startswith(("if ", "while ", "for ", "return ", "elif ")):
        return f"assign:{match.group(1)}"
    return None


def _depth_change(line: str) -> int:
    body = _STRING.sub("", line)
    for mark in ("#", "//"):
        # A comment marker outside strings ends the code on the line (a rough cut: good
        # enough for bracket counting, which is all this is for).
        at = body.find(mark)
        if at >= 0 and (mark != "#" or at == 0 or body[at - 1].isspace()):
            body = body[:at]
    return sum(body.count(c) for c in _OPEN) - sum(body.count(c) for c in _CLOSE)


def extent(lines: list[str], start: int, limit: int | None = None) -> int:
    """The last line of the statement that starts at ``start``: brackets balanced, and for a
    block opener (``def f():``, ``function f() {``) its indented body and closer."""
    limit = len(lines) if limit is None else limit
    depth, end = 0, start
    for end in range(start, limit):
        depth += _depth_change(lines[end])
        if depth <= 0 and not lines[end].rstrip().endswith(("\\", ",", "(", "[", "{")):
            break
    if not lines[end].rstrip().endswith(":"):
        return end
    # A Python-style block: everything indented deeper than the opener.
    level, last = indent(lines[start]), end
    for j in range(end + 1, limit):
        if not lines[j].strip():
            continue
        if indent(lines[j]) <= level:
            break
        last = j
    return last
