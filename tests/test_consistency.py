"""The lazy-snippet consistency check: its definition on hand-made cases, and that a right
result passes for every style whose markers are recognised, on many random edits."""
from __future__ import annotations

import doctest
import random

import pytest

from fastapply import consistency
from fastapply.consistency import check
from fastapply.corpus.styles import STYLES, render
from fastapply.markers import is_marker

ORIGINAL = "".join(f"line{i}\n" for i in range(10))


def test_the_docstring_example_holds():
    assert doctest.testmod(consistency).failed == 0


def test_deletion_shown_by_adjacency_must_be_a_deletion():
    snippet = "# ...\nline3\nline6\n# ...\n"  # lines 4 and 5 deleted: 3 and 6 now touch
    deleted = ORIGINAL.replace("line4\nline5\n", "")
    assert check(ORIGINAL, snippet, deleted).ok
    assert not check(ORIGINAL, snippet, ORIGINAL).ok  # kept them: the hunk is not contiguous


def test_a_run_must_be_original_lines_in_order():
    snippet = "line0\nNEW\n# ...\n"
    assert check(ORIGINAL, snippet, ORIGINAL.replace("line1\n", "NEW\n")).ok
    assert not check(ORIGINAL, snippet, ORIGINAL.replace("line1\n", "NEW\n").replace("line5", "stray")).ok
    swapped = ORIGINAL.replace("line1\n", "NEW\n").replace("line3\nline4\n", "line4\nline3\n")
    assert not check(ORIGINAL, snippet, swapped).ok


def test_two_markers_with_a_gap_allow_a_deletion_between_their_runs():
    snippet = "line0\n# ...\n\n# ...\nline9\n"
    assert check(ORIGINAL, snippet, ORIGINAL.replace("line5\n", "")).ok


def test_marker_shaped_lines_the_original_has_are_code():
    stub = "class P:\n    def f(self):\n        ...\n    def g(self):\n        ...\n"
    snippet = "class P:\n    def f(self):\n        return 1\n    def g(self):\n        ...\n"
    assert check(stub, snippet, snippet).ok


def test_an_unmarked_edge_keeps_original_lines_but_says_so():
    snippet = "line5\nNEW\nline7\n"
    result = check(ORIGINAL, snippet, ORIGINAL.replace("line6\n", "NEW\n"))
    assert result.ok and result.edge_runs == ["start", "end"]


def recognised(style) -> bool:
    return is_marker("# " + style.phrase) and is_marker("// " + style.phrase) and is_marker("/* " + style.phrase + " */")


@pytest.mark.parametrize("name", sorted(n for n, s in STYLES.items() if recognised(s)))
def test_a_right_result_always_passes(name):
    rng = random.Random(name)
    for _ in range(40):
        lines = [f"    value_{rng.randrange(8)} = {rng.randrange(100)}" if rng.random() < 0.7 else "def f():"
                 for _ in range(rng.randrange(12, 40))]
        new = list(lines)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(new))
            action = rng.choice(["replace", "insert", "delete"])
            if action == "replace":
                new[at] = f"    changed_{rng.randrange(1000)} = 1"
            elif action == "insert":
                new.insert(at, f"    added_{rng.randrange(1000)} = 2")
            elif len(new) > 3:
                del new[at]
        before, after = "\n".join(lines) + "\n", "\n".join(new) + "\n"
        if before == after:
            continue
        snippet = render(before, after, "m.py", STYLES[name])
        if all(is_marker(line) for line in snippet.splitlines()):
            continue  # a pure deletion without context: nothing a snippet can show (check_snippet refuses it)
        assert check(before, snippet, after).ok, (before, snippet, after)
