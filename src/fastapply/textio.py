"""Text in and out: strict decoding, line endings and BOM round-tripped per line, exact diffs.

A file is applied to only if it is text we can round-trip exactly: UTF-8, no NUL bytes.
Line endings are normalised to "\\n" for the merge and the model and restored on the way
out: a CRLF file stays CRLF, a CR-only file stays CR-only, and in a file that mixes LF and
CRLF every line the result keeps from the original gets its own ending back (new lines
take the ending of the original line they replace, else of the line above, else the
file's majority). The CLI (bytes) and the Python API (str) go through the same
``from_text`` / ``restore``, so both give the same bytes:

    >>> src = from_text("a\\r\\nb\\nc\\r\\n")
    >>> src.text, src.newline
    ('a\\nb\\nc\\n', '\\r\\n')
    >>> src.restore("a\\nB\\nc\\nd\\n")
    'a\\r\\nB\\nc\\r\\nd\\r\\n'

Reading goes through ``writing.read_regular`` (regular files only) and writing through
``writing.write_file`` (atomic, metadata kept, compare-and-swap).
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass

from . import writing
from .errors import InputError

_BINARY_PROBE = 8192


@dataclass(frozen=True)
class SourceText:
    text: str  # with "\n" line endings
    newline: str  # "\n", "\r\n" or "\r": what new lines get (the majority ending in a mixed file)
    bom: bool  # the file started with a UTF-8 byte-order mark
    endings: tuple[str, ...] | None = None  # per terminated line, when the file mixes LF and CRLF
    snapshot: writing.Snapshot | None = None  # the file as read, for compare-and-swap on write

    def restore(self, text: str) -> str:
        """The model's text (\\n endings) back in this file's conventions."""
        if self.endings is not None:
            text = _restore_mixed(self.text, self.endings, text, self.newline)
        elif self.newline != "\n":
            text = text.replace("\n", self.newline)
        return ("\ufeff" if self.bom else "") + text


def split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept, split on "\\n" only (not on form feeds, U+2028, ... as
    ``str.splitlines`` does). The last line lacks "\\n" when the text does."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def from_text(text: str) -> SourceText:
    """A str's line endings and BOM noted, its text with "\\n" endings (see the module docstring)."""
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    lf, crlf = text.count("\n"), text.count("\r\n")
    if not lf:
        if "\r" in text:  # a CR-only (classic Mac) file: every CR ends a line
            return SourceText(text.replace("\r", "\n"), "\r", bom)
        return SourceText(text, "\n", bom)
    if not crlf:
        return SourceText(text, "\n", bom)
    if crlf == lf:
        return SourceText(text.replace("\r\n", "\n"), "\r\n", bom)
    lines = text.split("\n")
    endings = tuple("\r\n" if line.endswith("\r") else "\n" for line in lines[:-1])
    body = "\n".join(line[:-1] if line.endswith("\r") else line for line in lines[:-1]) + "\n" + lines[-1]
    newline = "\r\n" if 2 * crlf > lf else "\n"
    return SourceText(body, newline, bom, endings)


def _restore_mixed(old_text: str, endings: tuple[str, ...], new_text: str, majority: str) -> str:
    old, new = old_text.split("\n"), new_text.split("\n")
    out_endings: list[str] = []
    last = majority
    matcher = difflib.SequenceMatcher(None, old[:-1], new[:-1], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(j2 - j1):
            if op == "equal" or (op == "replace" and i1 + k < i2):
                last = endings[i1 + k]
            out_endings.append(last)
    return "".join(line + end for line, end in zip(new[:-1], out_endings)) + new[-1]


def decode_text(data: bytes, *, name: str = "input") -> SourceText:
    """Bytes as UTF-8 text (``InputError`` for NUL bytes or invalid UTF-8), endings noted."""
    if b"\x00" in data[:_BINARY_PROBE]:
        raise InputError(f"{name} looks binary (it contains NUL bytes); only text files can be edited")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "convert it to UTF-8 first"
        ) from None
    return from_text(text)


def read_source(path: str | os.PathLike, *, limit: int | None = None, what: str = "") -> SourceText:
    """A regular file, strictly decoded, with the snapshot that ``atomic_write`` checks."""
    data, snap = writing.read_regular(path, what=what, limit=limit)
    src = decode_text(data, name=str(path))
    return SourceText(src.text, src.newline, src.bom, src.endings, snap)


def encode(text: str, *, name: str = "result") -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"the {name} is not valid Unicode text (a lone surrogate at character {exc.start})") from None


def atomic_write(path: str | os.PathLike, text: str, *, expected: writing.Snapshot | None = None,
                 force: bool = False) -> None:
    """Replace path's content with text (``writing.write_file``: one rename, owner, mode and
    xattrs kept, symlinks followed; with ``expected``, only if the file is still as read)."""
    writing.write_file(path, encode(text), expected=expected, force=force)


def unified_diff(old: str, new: str, fromfile: str, tofile: str, context: int = 3) -> str:
    """A unified diff that GNU ``patch`` and ``git apply`` apply back byte for byte: lines
    split on "\\n" only, CRs kept, ``\\ No newline at end of file`` where a side lacks one.

    >>> print(unified_diff("a\\nb", "a\\nc", "a/f", "b/f"), end="")
    --- a/f
    +++ b/f
    @@ -1,2 +1,2 @@
     a
    -b
    \\ No newline at end of file
    +c
    \\ No newline at end of file
    """
    out = []
    for line in difflib.unified_diff(split_lines(old), split_lines(new), fromfile, tofile, n=context):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
