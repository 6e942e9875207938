"""Reading source files strictly and writing them atomically.

A file is applied to only if it is text we can round-trip exactly: UTF-8, no NUL bytes.
Line endings are normalised to "\\n" for the model and restored on the way out, so a
CRLF file stays CRLF. Writes go to a temporary file in the same directory that replaces
the target in one rename: an interrupted apply leaves the old file, never half a new one.
"""
from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

_BINARY_PROBE = 8192


@dataclass(frozen=True)
class SourceText:
    text: str  # with "\n" line endings
    newline: str  # "\n" or "\r\n": what to restore on output
    bom: bool  # the file started with a UTF-8 byte-order mark

    def restore(self, text: str) -> str:
        """The model's text (\\n endings) back in this file's conventions."""
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        return ("\ufeff" if self.bom else "") + text


def decode_text(data: bytes, *, name: str = "input") -> SourceText:
    if b"\x00" in data[:_BINARY_PROBE]:
        raise InputError(f"{name} looks binary (it contains NUL bytes); only text files can be edited")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "convert it to UTF-8 first"
        ) from None
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    crlf = text.count("\r\n")
    newline = "\r\n" if crlf and crlf == text.count("\n") else "\n"
    if newline == "\r\n":
        text = text.replace("\r\n", "\n")
    return SourceText(text, newline, bom)


def read_source(path: str | os.PathLike) -> SourceText:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from None
    return decode_text(data, name=str(p))


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Replace path's content with text in one rename, keeping its permission bits."""
    p = Path(path)
    mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else None
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".fastapply-tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
