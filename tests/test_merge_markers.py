"""Marker recognition across comment syntaxes, and the context rules of classify()."""
from __future__ import annotations

import pytest

from fastapply.markers import is_marker
from fastapply.merge.segment import Hunk, classify, split_hunks, strip_fences


@pytest.mark.parametrize(
    "line",
    [
        "    // ... existing code ...",
        "# ... rest of the file unchanged ...",
        "/* ... */",
        "<!-- ... -->",
        "{/* ... existing code ... */}",
        "    // ... keep existing code",
        "...",
        "…",
        "... existing code ...",
        "-- ... existing queries ...",
        "    // existing code here",
        "# ... other methods ...",
    ],
)
def test_marker_lines(line):
    assert is_marker(line)


@pytest.mark.parametrize(
    "line",
    ["x = [...]", "    pass  # keep going", "  ...state,", "...rest", "  ...props", "f(...args)", "print('...')", ""],
)
def test_code_lines_are_not_markers(line):
    assert not is_marker(line)


def test_python_ellipsis_is_a_stub_body_only_when_context_says_so():
    original = ["def f():", "    return 1", "", "def g():", "    ..."]
    snippet = [
        "def f():",
        "    ...",  # f has a real body in the original: elided
        "def g():",
        "    ...",  # g's original body is "...": code
        "def h():",
        "    ...",  # a new stub: code
        "x = 1",
        "...",  # not a block body: elided
    ]
    assert classify(snippet, original, "python") == [False, True, False, False, False, False, False, True]


def test_ellipsis_is_always_a_marker_outside_python():
    assert classify(["function f() {", "  ...", "}"], [], "javascript") == [False, True, False]


def test_marker_looking_comment_that_the_original_has_is_code():
    original = ["# other methods", "def f(): pass"]
    assert classify(["# other methods", "def f(): pass"], original, "python") == [False, False]
    assert classify(["# other methods", "def f(): pass"], [], "python") == [True, False]


def test_split_hunks_records_marker_indents_and_drops_blank_only_runs():
    lines = ["# ...", "a = 1", "    # ...", "", "    # ...", "", "b = 2"]
    flags = [True, False, True, False, True, False, False]
    # Blank lines inside a hunk stay (they may be content); a run of only blanks goes.
    assert split_hunks(lines, flags) == [Hunk(1, 1, 0, 4), Hunk(5, 6, 4, None)]


def test_strip_fences():
    assert strip_fences(["```python", "x = 1", "```"]) == ["x = 1"]
    assert strip_fences(["x = 1", "```"]) == ["x = 1", "```"]
