"""Deterministic lazy merge on the text levels (exact and whitespace-insensitive anchors).

These cases need no tree-sitter: they give the same result with or without it (with
it, the parse guard also runs and must agree). Each asserts the exact merged text or
the refusal and its reason.
"""
from __future__ import annotations

import doctest
from textwrap import dedent

import pytest

import fastapply.merge
from fastapply.merge import MergeResult, merge


def d(text: str) -> str:
    return dedent(text).lstrip("\n")


def merged(original: str, snippet: str, path: str) -> MergeResult:
    result = merge(d(original), d(snippet), path=path)
    return result


def test_docstring_examples():
    assert doctest.testmod(fastapply.merge).failed == 0


PY = """
import os


def a():
    return 1


def b():
    return 2


def c():
    return 3
"""


def test_python_edit_function_body_with_hash_markers():
    r = merged(PY, """
        # ... existing code ...
        def b():
            x = os.getcwd()
            return x
        # ... rest of the file unchanged ...
    """, "m.py")
    assert r.text == d("""
        import os


        def a():
            return 1


        def b():
            x = os.getcwd()
            return x


        def c():
            return 3
    """)
    assert r.confidence == 1.0 and r.reasons == [] and r.ok


def test_python_insertion_between_two_functions():
    r = merged(PY, """
        # ... existing code ...
            return 1


        def new():
            return 9


        def b():
        # ... existing code ...
    """, "m.py")
    assert r.text == d(PY).replace("def b():", "def new():\n    return 9\n\n\ndef b():")
    assert r.confidence == 1.0


def test_python_pure_deletion_inferred_from_adjacent_context():
    # "return 1" and "def c():" adjacent with no marker between: b() is deleted.
    r = merged(PY, """
        # ... existing code ...
            return 1


        def c():
        # ... existing code ...
    """, "m.py")
    assert r.text == d("""
        import os


        def a():
            return 1


        def c():
            return 3
    """)


def test_edit_at_file_start_and_end():
    r = merged(PY, """
        import os
        import sys
        # ... existing code ...
        def c():
            return sys.argv
    """, "m.py")
    assert r.text == d(PY).replace("import os\n", "import os\nimport sys\n").replace("return 3", "return sys.argv")
    assert r.confidence == 1.0


def test_new_import_at_top_of_file_is_placed_at_start():
    r = merged(PY, """
        import re
        # ... existing code ...
    """, "m.py")
    assert r.text == "import re\n" + d(PY)
    assert r.confidence == 0.85 and "placed at the start of the file" in r.reasons[0]


def test_new_function_appended_at_end():
    r = merged(PY, """
        # ... existing code ...


        def d():
            return 4
    """, "m.py")
    assert r.text == d(PY) + "\n\ndef d():\n    return 4\n"
    assert "appended at the end of the file" in r.reasons[0]


def test_edit_inside_class_method_keeps_siblings():
    original = """
        class K:
            def __init__(self):
                self.x = 1

            def m(self):
                a = 1
                return a

            def n(self):
                return 0
    """
    r = merged(original, """
        class K:
            # ... existing code ...
            def m(self):
                return 5

            # ... existing code ...
    """, "k.py")
    assert r.text == d(original).replace("        a = 1\n        return a\n", "        return 5\n")
    assert r.confidence == 1.0


def test_indented_marker_keeps_rest_of_block():
    # A marker inside the body (deeper than "def") keeps the old body after the new line.
    r = merged(PY, """
        # ... existing code ...
        def a():
            print("start")
            # ... existing code ...
    """, "m.py")
    assert r.text == d(PY).replace("def a():\n", 'def a():\n    print("start")\n')


def test_repeated_identical_blocks_disambiguated_by_context():
    original = """
        class A:
            def helper(self):
                return 1


        class B:
            def helper(self):
                return 1
    """
    r = merged(original, """
        # ... existing code ...
        class B:
            def helper(self):
                return 2
    """, "r.py")
    assert r.text == d(original)[:-len("        return 1\n")] + "        return 2\n"
    assert r.confidence == 1.0


def test_repeated_identical_blocks_without_context_are_refused():
    original = """
        class A:
            def helper(self):
                return 1


        class B:
            def helper(self):
                return 1
    """
    r = merged(original, """
        # ... existing code ...
            def helper(self):
                return 2
        # ... existing code ...
    """, "r.py")
    assert r.text is None and not r.ok
    assert r.reasons[0].startswith("ambiguous anchor")


def test_no_markers_contiguous_fragment_is_spliced_in_place():
    r = merged(PY, """
        def b():
            return 22
    """, "m.py")
    assert r.text == d(PY).replace("return 2\n", "return 22\n")
    assert r.confidence == 0.9 and r.reasons[0].startswith("no marker at the snippet's edge")


def test_no_markers_and_no_overlap_of_similar_size_is_whole_file_replacement():
    original = "a = 1\nb = 2\n"
    r = merge(original, "print('hello')\nprint('world')\n", path="m.py")
    assert r.text == "print('hello')\nprint('world')\n"
    assert r.confidence == 0.7 and "whole-file replacement" in r.reasons[0]


def test_no_markers_short_unrelated_snippet_is_refused():
    r = merged(PY, "print('x')\n", "m.py")
    assert r.text is None and "fragment or replacement" in r.reasons[0]


def test_empty_original_takes_snippet_and_trailing_newline_state_is_kept():
    assert merge("", "x = 1\n", path="m.py").text == "x = 1"
    r = merge("a = 1\nb = 2", "# ...\nb = 3", path="m.py")
    assert r.text == "a = 1\nb = 3"  # no trailing newline, as the original; b rebound, not appended
    assert r.confidence == 0.95 and "binds the same name" in r.reasons[0]
    r = merge("a = 1\nb = 2", "# ...\nc = 3", path="m.py")
    assert r.text == "a = 1\nb = 2\nc = 3"
    assert r.confidence == 0.85 and "appended at the end of the file" in r.reasons[0]


def test_whitespace_insensitive_anchor_lowers_confidence():
    original = "def f():\n    if x:\n        y()\n    return 1\n"
    snippet = "# ... existing code ...\n  if x:\n        y()\n        z()\n    return 1\n"
    r = merge(original, snippet, path="m.py")
    assert r.text == "def f():\n  if x:\n        y()\n        z()\n    return 1\n"
    assert r.confidence == 0.95 and r.reasons == ["1 line(s) anchored ignoring whitespace"]


def test_mass_deletion_is_refused():
    original = "".join(f"x{i} = {i}\n" for i in range(20))
    r = merge(original, "x0 = 0\nx19 = 19\n", path="m.py")
    assert r.text is None and r.reasons == ["the merge would remove 18 of 20 non-blank lines"]


def test_unplaceable_middle_hunk_is_refused():
    r = merged(PY, """
        # ... existing code ...
        totally_new_call()
        # ... existing code ...
    """, "m.py")
    assert r.text is None
    assert r.reasons == ["cannot place the hunk starting 'totally_new_call()': none of its lines match the original, or only in too many places"]


def test_unanchored_modification_at_edge_is_refused_not_duplicated():
    original = "function foo() {\n  a();\n}\n\nfunction bar() {}\n"
    # A whole definition rewritten: it replaces the one of the same name, braces and all.
    r = merge(original, "function foo(x) {\n  return x;\n}\n// ... existing code ...\n", language="text")
    assert r.text == "function foo(x) {\n  return x;\n}\n\nfunction bar() {}\n"
    # A line that binds no name and resembles an original one is still not guessed.
    original = "function foo() {\n  compute(alpha);\n}\n\nfunction bar() {}\n"
    r = merge(original, "  compute(alpha, beta);\n// ... existing code ...\n", language="text")
    assert r.text is None and "resembles original 'compute(alpha);'" in r.reasons[0]


def test_only_markers_changes_nothing():
    r = merge("a = 1\n", "# ... existing code ...\n", path="m.py")
    assert r.text == "a = 1\n" and r.confidence == 0.5


def test_code_fence_around_snippet_is_ignored():
    r = merge("a = 1\nb = 2\n", "```python\n# ...\nb = 2\nc = 3\n```\n", path="m.py")
    assert r.text == "a = 1\nb = 2\nc = 3\n" and r.confidence == 1.0


@pytest.mark.parametrize(
    "marker",
    ["# ... existing code ...", "# ... rest of the file unchanged ...", "# ...", "...", "# existing code here"],
)
def test_python_marker_styles(marker):
    r = merged(PY, f"""
        {marker}
        def c():
            return 33
    """, "m.py")
    assert r.text == d(PY).replace("return 3\n", "return 33\n")
