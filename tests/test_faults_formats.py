"""Fault suite, formats: diffs that patch and git apply exactly, endings per line, API = CLI bytes,
the empty-file rule."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from faultkit import proc, project, run

import fastapply
from fastapply.textio import decode_text, from_text, unified_diff

F = pytest.mark.fault("formats", "pass")
R = pytest.mark.fault("formats", "refused")
needs_tools = pytest.mark.skipif(not (shutil.which("patch") and shutil.which("git")),
                                 reason="GNU patch and git are installed by the test setup (apt-get install patch git)")

CASES = {
    "lf": (b"def f():\n    return 1\n\n\ndef g():\n    return 2\n", b"# ...\ndef g():\n    return 20\n"),
    "no-final-newline": (b"def f():\n    return 1\n\n\ndef g():\n    return 2", b"# ...\ndef g():\n    return 20\n"),
    "crlf": (b"def f():\r\n    return 1\r\n\r\n\r\ndef g():\r\n    return 2\r\n", b"# ...\ndef g():\n    return 20\n"),
    "mixed": (b"def f():\r\n    return 1\n\n\ndef g():\r\n    return 2\r\n", b"# ...\ndef g():\n    return 20\n"),
    "bom": ("\ufeffdef f():\n    return 1\n\n\ndef g():\n    return 2\n".encode(), b"# ...\ndef g():\n    return 20\n"),
    "edit-last-line-no-newline": (b"a = 1\nb = 2\nc = 3", b"a = 1\nb = 2\nc = 30"),
    "add-final-line": (b"a = 1\nb = 2\n", b"a = 1\nb = 2\nc = 3\n"),
}


def _apply_bytes(tmp_path, original: bytes, snippet: bytes) -> bytes:
    target = tmp_path / "m.py"
    target.write_bytes(original)
    (tmp_path / "s").write_bytes(snippet)
    r = run("apply", target, "-s", tmp_path / "s", "--mode", "merge", "-o", tmp_path / "out.py")
    assert r.exit_code == 0, r.output
    return (tmp_path / "out.py").read_bytes()


@F
@needs_tools
@pytest.mark.parametrize("case", sorted(CASES))
def test_diff_round_trips_through_patch_and_git_apply(tmp_path, case):
    original, snippet = CASES[case]
    expected = _apply_bytes(tmp_path, original, snippet)
    (tmp_path / "m.py").write_bytes(original)
    p = proc("apply", "m.py", "-s", "s", "--mode", "merge", "--diff", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    diff = p.stdout
    if case == "no-final-newline" or case.startswith("edit-last"):
        assert b"\\ No newline at end of file" in diff
    for tool in (["patch", "-p1", "--quiet", "--no-backup-if-mismatch"], ["git", "apply", "-p1", "--unidiff-zero"]):
        (tmp_path / "m.py").write_bytes(original)
        if tool[0] == "git":
            subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        done = subprocess.run(tool, input=diff, cwd=tmp_path, capture_output=True)
        assert done.returncode == 0, (tool, done.stdout, done.stderr)
        assert b"fuzz" not in done.stdout.lower() and b"offset" not in done.stdout.lower()
        assert (tmp_path / "m.py").read_bytes() == expected, tool[0]


@F
def test_mixed_endings_kept_per_line(tmp_path):
    original = b"a = 1\r\nb = 2\nc = 3\r\nd = 4\n"
    out = _apply_bytes(tmp_path, original, b"a = 1\r\nb = 20\nc = 3\n# ...\n")
    assert out == b"a = 1\r\nb = 20\nc = 3\r\nd = 4\n"


@F
def test_cr_only_file_is_applied_and_stays_cr_only(tmp_path):
    original = b"def f():\r    return 1\r\r\rdef g():\r    return 2\r"
    out = _apply_bytes(tmp_path, original, b"# ...\ndef g():\n    return 20\n")
    assert out == b"def f():\r    return 1\r\r\rdef g():\r    return 20\r"


@F
@pytest.mark.parametrize("case", sorted(CASES))
def test_api_and_cli_give_the_same_bytes(tmp_path, case):
    original, snippet = CASES[case]
    cli_bytes = _apply_bytes(tmp_path, original, snippet)
    api = fastapply.apply(original.decode("utf-8"), snippet.decode("utf-8"), path="m.py", mode="merge")
    assert api.text.encode("utf-8") == cli_bytes


@R
@pytest.mark.parametrize("content", [b"", b"\n", b"  \n\t\n", b"\r\n"])
def test_empty_file_rule_cli_and_api(tmp_path, content):
    target, snip = project(tmp_path, text=content)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 3 and "the file is empty" in r.output
    assert target.read_bytes() == content
    with pytest.raises(fastapply.InputError, match="the file is empty"):
        fastapply.apply(content.decode(), "x = 1\n", mode="merge")


@F
def test_diff_of_form_feed_and_unicode_line_separators(tmp_path):
    """Lines split on \\n only: a form feed or U+2028 inside a line is not a line break."""
    old = "a = 1\n\x0c\nb = '\u2028'\nc = 3\n"
    new = "a = 1\n\x0c\nb = '\u2028'\nc = 30\n"
    diff = unified_diff(old, new, "a/m.py", "b/m.py")
    assert " b = '\u2028'\n" in diff and diff.count("\n-") == 1


@F
def test_lone_cr_inside_a_crlf_file_round_trips():
    src = decode_text(b"a\rb\r\nc\r\r\n")
    assert src.restore(src.text) == "a\rb\r\nc\r\r\n"
    assert from_text("x\r\ny\n").restore("x\ny\nz\n") == "x\r\ny\nz\n"
