"""Elision markers: the lines a lazy snippet uses to stand for unchanged code.

Frontier models write them in many shapes: ``// ... existing code ...``,
``# ... rest of the file unchanged ...``, ``/* ... */``, ``<!-- ... -->``, a bare
``...``, ``// existing code here``. The apply guard uses this to refuse an answer in
which the model copied such a line instead of the code it stands for.
"""
from __future__ import annotations

import re

# A comment opener, then either an ellipsis-led phrase or a phrase about unchanged code.
# Every pattern here runs in linear time on any line: no two adjacent parts can match the
# same characters (the "rest of the line" parts are handled in code, not with `.*`), so a
# hostile line such as "# existing code" + 3,000 spaces + "x" costs microseconds.
_OPEN = r"(?://+|#+|--|/\*+|<!--|\{/\*|;+|%+)"
_ELLIPSIS = r"(?:\.{3,}|…)"
_PHRASE = (
    r"(?:existing|unchanged|remaining|rest\s+of|same\s+as|keep|kept|previous|other|omitted|"
    r"code\s+(?:remains|unchanged)|no\s+changes?|as\s+before|etc)"
)
_WORDS = r"(?:code|here|unchanged|same|before|file|lines?|implementation|methods?|functions?)"
_OPEN_RE = re.compile(_OPEN)
_ELLIPSIS_RE = re.compile(_ELLIPSIS)
_PHRASE_RE = re.compile(_PHRASE, re.IGNORECASE)
_PHRASE_WORD_RE = re.compile(_PHRASE + r"\b", re.IGNORECASE)
_LAST_WORD_RE = re.compile(_WORDS + r"\Z", re.IGNORECASE)
_BRACKET_RE = re.compile(r"\[(?:\.{3}|…)[^\]]*\]")  # "[... 20 lines ...]"; \.{3}: the rest may hold dots
_CLOSE_RE = re.compile(r"(?:\*+/|-->|\*/\}|)")
_WORD_CHAR_RE = re.compile(r"[\w$]")
_NON_WORD_RE = re.compile(r"\W")
_CODE_PUNCTUATION = frozenset(",;()=[]{}")


def _spread(rest: str) -> bool:
    """After a leading ellipsis: JS/TS spread or Go/Python syntax rather than prose. Prose such
    as "...existing code..." closes with an ellipsis; code is glued to a name or has code
    punctuation."""
    if rest.endswith("...") or rest.endswith("…"):
        return False
    return bool(_WORD_CHAR_RE.match(rest)) or any(c in _CODE_PUNCTUATION for c in rest)


def _phrase_only(rest: str) -> bool:
    """A phrase about unchanged code that ends in a word such as 'code' or 'here', closing
    punctuation allowed ("existing code here", "rest of the file unchanged */")."""
    phrase = _PHRASE_WORD_RE.match(rest)
    if not phrase:
        return False
    end = len(rest)
    while end > phrase.end() and _NON_WORD_RE.match(rest, end - 1):
        end -= 1
    last = _LAST_WORD_RE.search(rest, phrase.end(), end)
    return last is not None


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
    s = line.strip()
    if not s:
        return False
    if _ELLIPSIS_RE.fullmatch(s):
        return True
    opener = _OPEN_RE.match(s)
    lead = _ELLIPSIS_RE.match(s)
    if not opener and not lead:
        return False
    if lead and _spread(s[lead.end():]):
        return False
    rest = s[opener.end():].lstrip() if opener else s
    if _ELLIPSIS_RE.search(s):
        if _ELLIPSIS_RE.match(rest) or _PHRASE_RE.match(rest):
            return True
        bracket = _BRACKET_RE.match(rest)
        if bracket and _CLOSE_RE.fullmatch(rest[bracket.end():].strip()):
            return True
    return opener is not None and _phrase_only(rest)


def marker_lines(text: str) -> list[int]:
    """0-based indices of the marker lines in text."""
    return [i for i, line in enumerate(text.splitlines()) if is_marker(line)]
