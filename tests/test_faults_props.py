"""Fault suite, properties (Hypothesis): random files, snippets, endings and encodings never
crash textio or the merge, and a refusal never touches the file."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastapply.cli import cli
from fastapply.markers import is_marker
from fastapply.merge import merge
from fastapply.textio import decode_text, from_text, split_lines

P = pytest.mark.fault("properties", "pass")

line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12)
endings = st.sampled_from(["\n", "\r\n"])
code_lines = st.sampled_from(["def f():", "    return 1", "    x = 2", "", "class A:", "    pass", "# c",
                              "if x:", "\tif y:", "        z()", "# ... existing code ...", "..."])


@st.composite
def files(draw, lines=line_text):
    parts = draw(st.lists(st.tuples(lines, endings), max_size=12))
    text = "".join(a + b for a, b in parts)
    if draw(st.booleans()):
        text += draw(lines)
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


@P
@settings(max_examples=300, deadline=None)
@given(files())
def test_textio_round_trips_every_file_exactly(text):
    src = from_text(text)
    assert "\r\n" not in src.text or src.newline == "\r"  # normalised (a lone CR inside a line may stay)
    assert src.restore(src.text) == text
    assert decode_text(text.encode("utf-8")).restore(src.text) == text


@P
@settings(max_examples=200, deadline=None)
@given(files(code_lines), st.data())
def test_restore_keeps_the_ending_of_every_kept_line(text, data):
    """Every kept line keeps its own ending. (Lines are made distinct: between identical lines
    with different endings, which one was kept is not knowable from the text; docs/faults.md.)"""
    pieces = text.split("\n")
    text = "\n".join((p[:-1] + f"#{i}\r" if p.endswith("\r") else p + f"#{i}") if i < len(pieces) - 1 else p
                     for i, p in enumerate(pieces))
    src = from_text(text)
    lines = split_lines(src.text)
    keep = data.draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    edited = "".join(line if k else "NEW\n" for line, k in zip(lines, keep))
    out = from_text(text).restore(edited) if not src.bom else src.restore(edited)[1:]
    original_lines = re.findall(r"[^\n]*\n|[^\n]+$", text.lstrip("\ufeff"))
    out_lines = re.findall(r"[^\n]*\n|[^\n]+$", out)
    assert len(out_lines) == len(original_lines)
    for k, before, after in zip(keep, original_lines, out_lines):
        if k:
            assert after == before


@P
@settings(max_examples=300, deadline=None)
@given(files(code_lines), files(code_lines), st.sampled_from(["m.py", "m.js", "m.txt", None]))
def test_merge_never_crashes(original, snippet, path):
    result = merge(from_text(original).text, from_text(snippet).text, path=path)
    assert (result.text is None) == (not result.ok)
    assert 0 <= result.confidence <= 1


@P
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200), files(code_lines), st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_cli_refusal_leaves_the_file_byte_identical(tmp_path_factory, raw, snippet, encoding):
    tmp = tmp_path_factory.mktemp("prop")
    target, snip = tmp / "m.py", tmp / "s.py"
    target.write_bytes(raw)
    try:
        snip.write_bytes(snippet.encode(encoding))
    except UnicodeEncodeError:
        snip.write_bytes(snippet.encode("utf-8"))
    r = CliRunner().invoke(cli, ["apply", str(target), "-s", str(snip), "--mode", "merge", "--in-place"])
    assert r.exit_code in (0, 3, 4), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    if r.exit_code != 0:
        assert target.read_bytes() == raw
    assert sorted(p.name for p in tmp.iterdir()) == ["m.py", "s.py"]  # no temp file left


_OPEN = r"(?://+|#+|--|/\*+|<!--|\{/\*|;+|%+)"
_CLOSE = r"(?:\*+/|-->|\*/\}|)"
_ELLIPSIS = r"(?:\.{3,}|…)"
_PHRASE = (r"(?:existing|unchanged|remaining|rest\s+of|same\s+as|keep|kept|previous|other|omitted|"
           r"code\s+(?:remains|unchanged)|no\s+changes?|as\s+before|etc)")
_OLD_MARKER = re.compile(rf"^\s*(?:{_OPEN}\s*)?(?:{_ELLIPSIS}.*?|{_PHRASE}[^\n]*?{_ELLIPSIS}?|\[{_ELLIPSIS}[^\]]*\])"
                         rf"\s*{_CLOSE}\s*$", re.IGNORECASE)
_OLD_BARE = re.compile(rf"^\s*{_ELLIPSIS}\s*$")
_OLD_SPREAD = re.compile(rf"^{_ELLIPSIS}(?!.*{_ELLIPSIS}$)(?:[\w$]|.*[,;()=\[\]{{}}])")
_OLD_PHRASE_ONLY = re.compile(rf"^\s*{_OPEN}\s*{_PHRASE}\b.*(?:code|here|unchanged|same|before|file|lines?|"
                              rf"implementation|methods?|functions?)\W*{_CLOSE}\s*$", re.IGNORECASE)


def _old_is_marker(line: str) -> bool:
    """The backtracking regexes markers.py had before (super-linear on hostile lines), kept as the
    reference: the linear version must agree with them on every (short) line."""
    if _OLD_BARE.match(line):
        return True
    s = line.strip()
    if not s or not re.match(_OPEN + "|" + _ELLIPSIS, s):
        return False
    if re.match(_ELLIPSIS, s) and _OLD_SPREAD.match(s):
        return False
    if _OLD_MARKER.match(line) and re.search(_ELLIPSIS, s):
        return True
    return bool(_OLD_PHRASE_ONLY.match(line))


ATOMS = ["//", "#", "--", "/*", "*/", "<!--", "-->", "{/*", "*/}", ";", "%", "...", "…", ".", " ", "\t", "existing",
         "code", "Existing", "rest", "of", "the", "file", "unchanged", "here", "same", "as", "keep", "kept", "no",
         "changes", "etc", "[", "]", "x", "(", ")", ",", "=", "$", "_", "lines", "methods", "before", "*", "}"]


@P
@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), max_size=9).map("".join))
def test_linear_markers_agree_with_the_old_regexes(line):
    assert is_marker(line) == _old_is_marker(line)
