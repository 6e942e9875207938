"""Comments that stand for code in any wording: elisions without an ellipsis.

``markers.is_marker`` knows the shapes with an ellipsis (``// ... existing code ...``) and a
few phrases. Models also write ``# (existing code)``, ``// rest unchanged``, ``/* snip */``,
``-- same as before``. A snippet comment reads as an elision when it is a comment alone on its
line, short, made almost only of words that talk about elided code, and has at least one
word that can only mean "the code not shown" (existing, unchanged, rest, omitted, snip, ...).
A real new comment rarely passes that ("# keep the existing behaviour for old clients" has
too many other words); callers also require that the line is not in the original.

    >>> from fastapply.languages import detect
    >>> reads_as_elision("    # (existing code)", detect("a.py"))
    True
    >>> reads_as_elision("/* snip */", detect("a.c"))
    True
    >>> reads_as_elision("  // rest of the component stays the same", detect("a.tsx"))
    True
    >>> reads_as_elision("# keep the existing behaviour for old clients", detect("a.py"))
    False
    >>> reads_as_elision("x = 1  # existing", detect("a.py"))
    False
"""
from __future__ import annotations

import re

from .languages import Language
from .markers import is_marker

# Words that only ever mean "the code that is not shown" in a comment of this shape.
STRONG = frozenset("""existing unchanged rest remaining remainder remains omitted omit snip snipped elided elide
elision untouched unmodified truncated brevity same""".split())
# Words such comments are made of besides: what is elided, where, and filler.
WORDS = STRONG | frozenset("""code of the a an file function functions class classes method methods module body
implementation implementations imports import here there other previous before above below as is are stays stay
remain kept keep lines line part parts section sections block blocks stuff everything else all definitions
fields cases tests logic handlers props members properties helpers for in between and more no changes change
still leave left this that unchanged etc so on goes go rest continues continue same component components
config setup content contents original earlier prior previously things thing markup elements rows items
entries exports routes styles rules tags declarations statements""".split())
_OPENERS = ("//", "#", "--", ";", "%")
_BLOCKS = (("/*", "*/"), ("<!--", "-->"), ("{/*", "*/}"), ("(*", "*)"))
_WORD = re.compile(r"[a-z]+")


def comment_text(line: str, language: Language | None = None) -> str | None:
    """The text of a line that is only a comment, or None when the line holds code."""
    s = line.strip()
    blocks = [language.block_comment] if language and language.block_comment else []
    for opener, closer in blocks + list(_BLOCKS):
        if s.startswith(opener) and s.endswith(closer) and len(s) >= len(opener) + len(closer):
            return s[len(opener) : len(s) - len(closer)]
    openers = [language.line_comment] if language and language.line_comment else []
    for opener in openers + list(_OPENERS):
        if s.startswith(opener):
            return s[len(opener) :]
    return None


def reads_as_elision(line: str, language: Language | None = None) -> bool:
    """Whether a comment-only line stands for elided code (see the module docstring)."""
    text = comment_text(line, language)
    if text is None:
        return False
    words = _WORD.findall(text.lower())
    if not 1 <= len(words) <= 10:
        return False
    known = sum(w in WORDS for w in words)
    return any(w in STRONG for w in words) and known >= 0.75 * len(words)


def is_elision(line: str, language: Language | None = None) -> bool:
    """A marker of any shape: ``markers.is_marker``'s, or a comment that reads as an elision."""
    return is_marker(line) or reads_as_elision(line, language)
