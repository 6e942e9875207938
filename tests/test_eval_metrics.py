"""Eval metrics on hand-written cases: every metric passes one case and fails another."""
from __future__ import annotations

import pytest

from fastapply.evals import metrics as m
from fastapply.evals.runner import naive_splice

ORIGINAL = "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n"
EXPECTED = ORIGINAL.replace("return 2", "return 20")


def test_exact_match_normalises_trailing_whitespace_and_final_newlines():
    assert m.exact_match("x = 1   \ny = 2\n\n\n", "x = 1\ny = 2")
    assert m.exact_match("x = 1\r\ny = 2\r\n", "x = 1\ny = 2\n")
    assert not m.exact_match("x = 1\n y = 2\n", "x = 1\ny = 2\n")  # leading whitespace counts
    assert not m.exact_match("x = 1\n\ny = 2\n", "x = 1\ny = 2\n")  # an inner blank line counts
    assert not m.exact_match(None, "x = 1\n")


def test_line_similarity():
    assert m.line_similarity(EXPECTED, EXPECTED) == 1.0
    assert 0.8 < m.line_similarity(ORIGINAL, EXPECTED) < 1.0
    assert m.line_similarity("nothing alike\n", EXPECTED) == 0.0
    assert m.line_similarity(None, EXPECTED) == 0.0


def test_syntax_equal_forgives_layout_only():
    pytest.importorskip("tree_sitter_c")
    a = "int f(int x) {\n  return x + 1;\n}\n"
    assert m.syntax_equal("int f(int x) { return x + 1; }", a, "c") is True
    assert m.syntax_equal("int f(int x) { return x + 2; }", a, "c") is False
    assert m.syntax_equal("int f(int x) { return x + 1;", a, "c") is False  # does not parse
    assert m.syntax_equal(None, a, "c") is False


def test_syntax_equal_counts_comments_and_python_indentation():
    pytest.importorskip("tree_sitter_python")
    assert m.syntax_equal("x = f( 1 ,2 )\n", "x = f(1, 2)\n", "python") is True
    assert m.syntax_equal("# old\nx = 1\n", "# new\nx = 1\n", "python") is False
    assert m.syntax_equal("#   same   words\nx = 1\n", "# same words\nx = 1\n", "python") is True
    nested = "if a:\n    b()\n    c()\n"
    assert m.syntax_equal("if a:\n    b()\nc()\n", nested, "python") is False


def test_syntax_equal_tsx_and_unknown_language():
    pytest.importorskip("tree_sitter_typescript")
    jsx = "const A = () => <div>{x}</div>;\n"
    assert m.syntax_equal(jsx, jsx, "typescript", "a.tsx") is True
    assert m.syntax_equal("a", "a", "markdown") is None


def test_collateral_lines():
    collateral = EXPECTED.replace("return 3", "return 30")
    assert m.collateral_lines(ORIGINAL, EXPECTED, collateral) == [9]
    assert m.collateral_lines(ORIGINAL, EXPECTED, EXPECTED) == []
    near = EXPECTED.replace("def b():", "def b():  # note")  # next to the edit: forgiven
    assert m.collateral_lines(ORIGINAL, EXPECTED, near) == []


@pytest.mark.parametrize("result,error,category", [
    (EXPECTED, None, None),
    (None, None, m.DID_NOT_FINISH),
    (EXPECTED, m.DID_NOT_FINISH, m.DID_NOT_FINISH),
    (EXPECTED.replace("def c():\n    return 3\n", "# ... existing code ...\n"), None, m.MARKER_LEAKED),
    (ORIGINAL + "\n\n", None, m.EDIT_MISSING),
    (EXPECTED.replace("return 3", "return 30"), None, m.COLLATERAL),
    (ORIGINAL.replace("return 2", "return 21"), None, m.OTHER),
])
def test_failure_category(result, error, category):
    assert m.failure_category(ORIGINAL, EXPECTED, result, error) == category


def test_marker_already_in_original_is_not_a_leak():
    stub = "def f(): ...\n\n\n# ...\nx = 1\n"
    assert m.new_marker_lines(stub.replace("x = 1", "x = 2"), stub) == []
    assert m.new_marker_lines(stub + "# ... existing code ...\n", stub) == ["# ... existing code ..."]


def test_naive_splice():
    snippet = "# ... existing code ...\ndef b():\n    return 20\n\n\n# ... existing code ...\n"
    assert naive_splice(ORIGINAL, snippet) == EXPECTED
    # A hunk whose first line is not in the original is dropped: the floor misses new code.
    added = "# ... existing code ...\ndef d():\n    return 4\n"
    assert naive_splice(ORIGINAL, added) == ORIGINAL
    assert naive_splice(ORIGINAL, "x = 1\n") == "x = 1\n"  # no markers: the snippet is the file
