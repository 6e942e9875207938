"""Strict reading and atomic writing of source files."""
from __future__ import annotations

import os

import pytest

from fastapply.errors import InputError
from fastapply.textio import atomic_write, decode_text, read_source


def test_crlf_round_trip():
    src = decode_text(b"a\r\nb\r\n")
    assert src.text == "a\nb\n" and src.newline == "\r\n"
    assert src.restore("a\nc\n") == "a\r\nc\r\n"


def test_mixed_endings_are_kept_per_line():
    src = decode_text(b"a\r\nb\n")
    assert src.text == "a\nb\n" and src.endings == ("\r\n", "\n")
    assert src.restore(src.text) == "a\r\nb\n"


def test_bom_round_trip():
    src = decode_text("\ufeffx = 1\n".encode())
    assert src.text == "x = 1\n" and src.restore(src.text) == "\ufeffx = 1\n"


def test_binary_and_bad_encoding_are_refused(tmp_path):
    with pytest.raises(InputError, match="binary"):
        decode_text(b"\x7fELF\x00\x00")
    with pytest.raises(InputError, match="not valid UTF-8.*byte 3"):
        decode_text(b"abc\xff\xfe")
    with pytest.raises(InputError, match="no such file"):
        read_source(tmp_path / "missing.py")
    with pytest.raises(InputError, match="directory"):
        read_source(tmp_path)


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path):
    p = tmp_path / "x.sh"
    p.write_text("old\n")
    os.chmod(p, 0o755)
    atomic_write(p, "new\n")
    assert p.read_text() == "new\n"
    assert oct(p.stat().st_mode & 0o777) == "0o755"
    assert os.listdir(tmp_path) == ["x.sh"]


def test_atomic_write_failure_keeps_old_file(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("old\n")
    with pytest.raises(InputError, match="surrogate"):
        atomic_write(p, "bad \udcff surrogate")
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["x.py"]
