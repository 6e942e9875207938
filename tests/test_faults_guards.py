"""Fault suite, output validity: no new syntax errors, consistent indentation, doubts on stderr."""
from __future__ import annotations

import pytest
from faultkit import project, run

from fastapply import guards
from fastapply.merge import structure

G = pytest.mark.fault("validity", "pass")
R = pytest.mark.fault("validity", "refused")

# (path, a valid original, the same file broken) for every language with a grammar
BROKEN = {
    "python": ("m.py", "def f():\n    return 1\n", "def f(:\n    return 1\n"),
    "javascript": ("m.js", "function f() { return 1; }\n", "function f() { return 1;\n"),
    "typescript": ("m.ts", "function f(): number { return 1; }\n", "function f(): number { return 1;\n"),
    "tsx": ("m.tsx", "const a = <div>x</div>;\n", "const a = <div>x</;\n"),
    "java": ("M.java", "class M { int f() { return 1; } }\n", "class M { int f() { return 1; }\n"),
    "c": ("m.c", "int f(void) { return 1; }\n", "int f(void) { return 1;\n"),
    "cpp": ("m.cpp", "int f() { return 1; }\n", "int f() { return 1;\n"),
    "go": ("m.go", "package m\n\nfunc f() int { return 1 }\n", "package m\n\nfunc f() int { return 1\n"),
    "rust": ("m.rs", "fn f() -> i32 { 1 }\n", "fn f() -> i32 { 1\n"),
}


@R
@pytest.mark.parametrize("grammar", sorted(BROKEN))
def test_syntax_regression_found_in_every_language(grammar):
    if not structure.available(grammar):
        pytest.skip(f"no tree-sitter grammar for {grammar}")
    path, good, bad = BROKEN[grammar]
    failure = guards.syntax_regression(good, bad, path)
    assert failure is not None and failure.kind == guards.SYNTAX_ERRORS
    assert guards.syntax_regression(good, good, path) is None
    assert guards.syntax_regression(bad, bad, path) is None  # not a regression: it was broken before


@G
def test_space_snippet_into_tab_file_is_reindented(tmp_path):
    target, snip = project(tmp_path, text="def f():\n\tx = 1\n\treturn x\n\n\ndef g():\n\treturn 2\n",
                           snippet="# ... existing code ...\ndef g():\n    y = 3\n    return y\n")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    text = target.read_text()
    assert text.endswith("def g():\n\ty = 3\n\treturn y\n")
    compile(text, "t.py", "exec")


@G
def test_tab_snippet_into_space_file_is_reindented(tmp_path):
    target, snip = project(tmp_path, text="def f():\n    if x:\n        y()\n    return 1\n",
                           snippet="def f():\n\tif x:\n\t\ty()\n\t\tz()\n\treturn 1\n")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    assert target.read_text() == "def f():\n    if x:\n        y()\n        z()\n    return 1\n"


@R
def test_mixed_indentation_in_python_refused():
    failure = guards.indentation_failure("def f():\n\treturn 1\n", "def f():\n\treturn 1\n\ndef g():\n    return 2\n",
                                         "m.py")
    assert failure is not None and failure.kind == guards.MIXED_INDENTATION


@R
def test_future_import_pushed_down_is_refused(tmp_path):
    original = '"""Doc."""\nfrom __future__ import annotations\n\nimport sys\n\n\ndef f():\n    return sys.argv\n'
    target, snip = project(tmp_path, text=original, snippet="import os\n# ... existing code ...\n")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    if r.exit_code == 0:  # the merge placed it correctly: then it must compile
        compile(target.read_text(), "t.py", "exec")
    else:
        assert r.exit_code == 4 and "__future__" in r.output and target.read_text() == original


@G
def test_allow_syntax_errors_writes_it_anyway(tmp_path):
    original = '"""Doc."""\nfrom __future__ import annotations\n\nimport sys\n'
    target, snip = project(tmp_path, text=original, snippet="import os\n# ... existing code ...\n")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place", "--allow-syntax-errors")
    assert r.exit_code == 0 and "import os" in target.read_text()


@G
def test_every_merge_doubt_goes_to_stderr(tmp_path):
    target, snip = project(tmp_path, text="a = 1\nb = 2\n", snippet="# ...\nb = 2\nc = 3\n")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place", "--stats-json", tmp_path / "s.json")
    assert r.exit_code == 0
    import json

    notes = json.loads((tmp_path / "s.json").read_text())["notes"]
    for note in notes:
        assert f"fastapply: note: {note}" in r.output
