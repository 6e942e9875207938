"""Elision markers: the lines a lazy snippet uses to stand for unchanged code.

Frontier models write them in many shapes: ``// ... existing code ...``,
``# ... rest of the file unchanged ...``, ``/* ... */``, ``<!-- ... -->``, a bare
``...``, ``// existing code here``. The apply guard uses this to refuse an answer in
which the model copied such a line instead of the code it stands for.
"""
from __future__ import annotations

import re

# A comment opener, then either an ellipsis-led phrase or a phrase about unchanged code.
_OPEN = r"(?://+|#+|--|/\*+|<!--|\{/\*|;+|%+)"
_CLOSE = r"(?:\*+/|-->|\*/\}|)"
_ELLIPSIS = r"(?:\.{3,}|…)"
_PHRASE = (
    r"(?:existing|unchanged|remaining|rest\s+of|same\s+as|keep|kept|previous|other|omitted|"
    r"code\s+(?:remains|unchanged)|no\s+changes?|as\s+before|etc)"
)
MARKER_RE = re.compile(
    rf"^\s*(?:{_OPEN}\s*)?(?:{_ELLIPSIS}.*?|{_PHRASE}[^\n]*?{_ELLIPSIS}?|\[{_ELLIPSIS}[^\]]*\])\s*{_CLOSE}\s*$",
    re.IGNORECASE,
)
_BARE = re.compile(rf"^\s*{_ELLIPSIS}\s*$")
# Without a comment opener, "...name" is JS/TS spread or Go/Python syntax, not prose:
# a leading ellipsis glued to an identifier, or followed by code punctuation (prose
# such as "...existing code..." closes with an ellipsis, so it stays a marker).
_SPREAD = re.compile(rf"^{_ELLIPSIS}(?!.*{_ELLIPSIS}$)(?:[\w$]|.*[,;()=\[\]{{}}])")
_PHRASE_ONLY = re.compile(rf"^\s*{_OPEN}\s*{_PHRASE}\b.*(?:code|here|unchanged|same|before|file|lines?|implementation|methods?|functions?)\W*{_CLOSE}\s*$", re.IGNORECASE)


def is_marker(line: str) -> bool:
    """True for a line that elides code rather than being code.

    Example:
        is_marker("    // ... existing code ...")      -> True
        is_marker("# ... rest of the file unchanged")  -> True
        is_marker("<!-- ... -->")                      -> True
        is_marker("...")                               -> True
        is_marker("    // existing code here")         -> True
        is_marker("x = [...]")                         -> False
        is_marker("    pass  # keep going")            -> False
        is_marker("  ...state,")                       -> False  (JS spread)
    """
    if _BARE.match(line):
        return True
    s = line.strip()
    if not s or not re.match(_OPEN + "|" + _ELLIPSIS, s):
        return False
    if re.match(_ELLIPSIS, s) and _SPREAD.match(s):
        return False
    if MARKER_RE.match(line) and re.search(_ELLIPSIS, s):
        return True
    return bool(_PHRASE_ONLY.match(line))


def marker_lines(text: str) -> list[int]:
    """0-based indices of the marker lines in text."""
    return [i for i, line in enumerate(text.splitlines()) if is_marker(line)]
