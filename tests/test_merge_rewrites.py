"""Statements rewritten whole, with no old line shown: placed by the name they bind."""
from __future__ import annotations

import doctest

import pytest

from fastapply.merge import merge, statements


def test_doctests():
    assert doctest.testmod(statements).failed == 0


@pytest.mark.parametrize("line, expected", [
    ("__all__ = (", "assign:__all__"),
    ("X: list[int] = [1, 2]", "assign:X"),
    ("const routes = {", "assign:routes"),
    ("pub static LIMIT: usize = 10;", "assign:LIMIT"),
    ("self.timeout = 30", "assign:self.timeout"),
    ("async def fetch(url):", "def:fetch"),
    ("export default function App() {", "def:App"),
    ("x == 1", None),
    ("return y", None),
    ("if a == b:", None),
    ("print(x)", None),
])
def test_key(line, expected):
    assert statements.key(line) == expected


def test_extent_brackets_blocks_and_strings():
    lines = ["A = {", "    'k': ')',", "}", "def f():", "    return 1", "", "    # c", "x = 1"]
    assert statements.extent(lines, 0) == 2
    assert statements.extent(lines, 3) == 6
    assert statements.extent(lines, 7) == 7


ORIGINAL = '__all__ = ("a", "b")\n\nX = [1, 2, 3]\n\n\ndef f():\n    return X\n'


def test_one_line_tuple_rewritten_multiline_replaces_the_old():
    snippet = '__all__ = (\n    "a",\n    "b",\n    "c",\n)\n# ... existing code ...\n'
    result = merge(ORIGINAL, snippet, path="m.py")
    assert result.text == '__all__ = (\n    "a",\n    "b",\n    "c",\n)\n\nX = [1, 2, 3]\n\n\ndef f():\n    return X\n'


def test_constant_with_one_more_item_replaces_the_old():
    snippet = "# ... existing code ...\nX = [1, 2, 3, 4]\n# ... existing code ...\n"
    result = merge(ORIGINAL, snippet, path="m.py")
    assert result.text == ORIGINAL.replace("X = [1, 2, 3]", "X = [1, 2, 3, 4]")


def test_multiline_original_goes_whole_in_javascript():
    original = "const a = 1;\nconst LIST = [\n  'x',\n  'y',\n];\nexport { LIST };\n"
    snippet = "// ... existing code ...\nconst LIST = ['x', 'y', 'z'];\n// ... existing code ...\n"
    result = merge(original, snippet, path="m.js")
    assert result.text == "const a = 1;\nconst LIST = ['x', 'y', 'z'];\nexport { LIST };\n"


def test_a_name_bound_twice_is_not_guessed():
    original = "X = 1\nif flag:\n    X = 2\nX = 3\n"
    snippet = "# ... existing code ...\nX = [4]\n# ... existing code ...\n"
    result = merge(original, snippet, path="m.py")
    assert result.text is None or result.text.count("X = ") == 4


def test_modified_line_before_a_column0_marker_does_not_end_its_block():
    # The marker at column 0 stands for the rest of the function and what follows; the new
    # line modifies the one it resembles, it does not replace the whole rest of the body.
    original = ("function prepare(config) {\n    const box = new Box();\n\n    if (config.a) {\n        box.a();\n    }\n"
                "    if (config.b) {\n        box.b();\n    }\n    return box;\n}\n\nfunction other() {}\n")
    snippet = "// ... existing code ...\nfunction prepare(config) {\n    const box = new Box({ opts: config.opts });\n\n// ... existing code ...\n"
    result = merge(original, snippet, path="m.js")
    assert result.text == original.replace("new Box()", "new Box({ opts: config.opts })")
    assert result.confidence < 0.9 and "read as modifying" in " ".join(result.reasons)


def test_long_files_are_aligned_by_their_unique_lines():
    # Past the quadratic programme's limit the merge aligns on lines that match once; the
    # result must be the same edit as for a short file.
    original = "".join(f"def f{i}():\n    return {i}\n" for i in range(1200))
    snippet = original.replace("return 600\n", "return -600\n") + "# ... existing code ...\n"
    result = merge(original, snippet, path="m.py")
    assert result.text == original.replace("return 600\n", "return -600\n")
    assert result.confidence == 1.0
