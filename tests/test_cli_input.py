"""CLI refusals of bad input: clear message, non-zero exit, target untouched (no model needed)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from fastapply.cli import cli


@pytest.fixture
def target(tmp_path):
    p = tmp_path / "t.py"
    p.write_text("x = 1\n")
    return p


def run(*args, input=None):
    return CliRunner().invoke(cli, list(map(str, args)), input=input)


def test_missing_file(tmp_path):
    snip = tmp_path / "s.py"
    snip.write_text("x = 2\n")
    r = run("apply", tmp_path / "nope.py", "--snippet", snip)
    assert r.exit_code == 3 and "no such file" in r.output


def test_binary_file(tmp_path):
    p = tmp_path / "b.bin"
    p.write_bytes(b"\x00\x01\x02")
    r = run("apply", p, "--snippet", "-", "--in-place", input="x = 2\n")
    assert r.exit_code == 3 and "binary" in r.output
    assert p.read_bytes() == b"\x00\x01\x02"


def test_non_utf8_file(tmp_path):
    p = tmp_path / "l.py"
    p.write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    r = run("apply", p, "--snippet", "-", "--in-place", input="x = 2\n")
    assert r.exit_code == 3 and "not valid UTF-8" in r.output
    assert p.read_bytes() == "x = 'caf\xe9'\n".encode("latin-1")


@pytest.mark.parametrize("snippet", ["", "\n\n", "# ... existing code ...\n"])
def test_empty_snippet(target, snippet):
    r = run("apply", target, "--snippet", "-", "--in-place", input=snippet)
    assert r.exit_code == 3 and "snippet" in r.output
    assert target.read_text() == "x = 1\n"


def test_missing_snippet_file(target, tmp_path):
    r = run("apply", target, "--snippet", tmp_path / "none.py")
    assert r.exit_code == 3 and "no such file" in r.output


def test_unknown_model(target):
    r = run("apply", target, "--snippet", "-", "--model", "no-such-model", input="x = 2\n")
    assert r.exit_code == 2 and "unknown model" in r.output
    assert target.read_text() == "x = 1\n"


def test_conflicting_outputs(target):
    r = run("apply", target, "--snippet", "-", "--in-place", "--diff", input="x = 2\n")
    assert r.exit_code != 0 and "at most one" in r.output
