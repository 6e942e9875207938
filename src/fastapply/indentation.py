"""Indentation styles: a snippet indented with spaces for a tab-indented file (or with tabs for
a space-indented one) is re-indented to the file's style before it is applied.

Models often write four spaces whatever the file uses; put in as given, such lines make a
Python file that no longer compiles (IndentationError, TabError) or a file of mixed style.

    >>> reindent("def f():\\n    return 2\\n", "def f():\\n\\treturn 1\\n")
    'def f():\\n\\treturn 2\\n'
    >>> reindent("def f():\\n\\treturn 2\\n", "def f():\\n  return 1\\n")
    'def f():\\n  return 2\\n'
    >>> style("a\\n\\tb\\n  \\tc\\n") is None   # mixed: nothing is changed
    True
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd

_PLAIN = {"text", "markdown"}  # prose: indentation is content, never re-indented


@dataclass(frozen=True)
class Style:
    kind: str  # "tab" or "space"
    unit: int  # spaces per level (1 for tabs)


def leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def style(text: str) -> Style | None:
    """The one indentation style of text's indented lines; None when mixed or unindented.

    Tab style allows spaces after the tabs (alignment); space style's unit is the greatest
    common divisor of the indent widths (at least 2, else 4 is assumed).
    """
    tabs = spaces = 0
    widths: set[int] = set()
    for line in text.split("\n"):
        ws = leading(line)
        if not ws or not line.strip():
            continue
        if ws[0] == "\t":
            tabs += 1
        elif "\t" in ws:
            return None  # spaces, then a tab
        else:
            spaces += 1
            widths.add(len(ws))
    if tabs and spaces or not (tabs or spaces):
        return None
    if tabs:
        return Style("tab", 1)
    unit = 0
    for w in widths:
        unit = gcd(unit, w)
    return Style("space", unit if unit >= 2 else 4)


def reindent(snippet: str, original: str, language: str | None = None) -> str:
    """The snippet in the original's indentation style, when both have one style and they differ."""
    if language in _PLAIN:
        return snippet
    want, have = style(original), style(snippet)
    if want is None or have is None or want.kind == have.kind:
        return snippet
    out = []
    for line in snippet.split("\n"):
        ws = leading(line)
        if not ws or not line.strip():
            out.append(line)
            continue
        if want.kind == "tab":  # spaces -> tabs, a remainder stays as alignment spaces
            levels, rest = divmod(len(ws), have.unit)
            out.append("\t" * levels + " " * rest + line[len(ws):])
        else:  # tabs -> the file's unit of spaces
            tabs = len(ws) - len(ws.lstrip("\t"))
            out.append(" " * (tabs * want.unit) + ws[tabs:] + line[len(ws):])
    return "\n".join(out)
