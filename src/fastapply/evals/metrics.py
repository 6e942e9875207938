"""Apply-quality metrics. Pure functions of texts; tree-sitter is imported lazily.

- ``exact_match``: equal after normalising trailing whitespace per line and final newlines
  (editors and formatters disagree on those; nothing else is forgiven).
- ``syntax_equal``: same tree-sitter syntax tree (node types and token texts), so a result
  that differs only in layout counts; comments count (an edit may be a comment edit), with
  their whitespace collapsed. None when no grammar is installed for the language.
- ``line_similarity``: difflib ratio over normalised lines, 0..1 (partial credit).
- ``failure_category``: why a result is wrong, one of ``CATEGORIES``, None when exact.
"""
from __future__ import annotations

import difflib

from fastapply.guards import new_marker_lines
from fastapply.merge import structure

DID_NOT_FINISH = "did-not-finish"  # no complete file: stopped early, token limit, refusal
MARKER_LEAKED = "elision-marker-leaked"  # a `... existing code ...` line left in the file
EDIT_MISSING = "edit-missing"  # result is the original although the edit changes it
COLLATERAL = "collateral-change"  # lines changed outside the regions the edit touches
OTHER = "other"  # wrong inside the edited regions
CATEGORIES = (DID_NOT_FINISH, MARKER_LEAKED, EDIT_MISSING, COLLATERAL, OTHER)



# --- exact match and similarity -------------------------------------------------------------------
def normalized_lines(text: str) -> list[str]:
    """Lines with trailing whitespace removed, trailing blank lines dropped (CRLF-agnostic)."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def exact_match(result: str | None, expected: str) -> bool:
    return result is not None and normalized_lines(result) == normalized_lines(expected)


def line_similarity(result: str | None, expected: str) -> float:
    """difflib ratio of the normalised line sequences; 0.0 for no result."""
    if result is None:
        return 0.0
    a, b = normalized_lines(result), normalized_lines(expected)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# --- syntax-tree equality -------------------------------------------------------------------------
# One place loads grammars for the whole package: the merge's structure module.
grammar_for = structure.grammar_name
parser_for = structure.get_parser


def syntax_signature(tree) -> tuple[list[tuple[str, str, int]], bool]:
    """Pre-order (node type, token text for leaves, child count) of a tree, and whether it has
    errors. The child counts make the sequence determine the tree (without them `if a: b; c`
    and `if a: b` + `c` flatten alike).

    Whitespace between tokens is not in the tree, so layout differences vanish (in Python
    indentation is structure, block nodes, so it still counts there). A comment is one token
    whose inner whitespace is layout too (re-wrapped doc comments), so it is collapsed.
    """
    out: list[tuple[str, str, int]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        text = ""
        if node.child_count == 0 or "comment" in node.type:
            text = node.text.decode("utf-8", "replace")
        if "comment" in node.type:
            out.append((node.type, " ".join(text.split()), 0))
            continue  # some grammars give comments children; the collapsed text covers them
        out.append((node.type, text, node.child_count))
        stack.extend(reversed(node.children))
    return out, tree.root_node.has_error


def syntax_equal(result: str | None, expected: str, language: str, path: str | None = None) -> bool | None:
    """Same syntax tree as the expected file; None when the language has no grammar here.

    A result that does not parse is never equal to one that does.
    """
    parser = parser_for(grammar_for(language, path))
    if parser is None:
        return None
    if result is None:
        return False
    got, got_err = syntax_signature(parser.parse(result.encode("utf-8")))
    want, want_err = syntax_signature(parser.parse(expected.encode("utf-8")))
    return got_err == want_err and got == want


# --- failure categories ---------------------------------------------------------------------------
def touched_lines(original: list[str], changed: list[str]) -> set[int]:
    """Indices of original lines a diff original -> changed replaces or deletes; an insertion
    touches the lines on both sides of its gap."""
    touched: set[int] = set()
    matcher = difflib.SequenceMatcher(None, original, changed, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        touched.update(range(i1, i2) if i2 > i1 else (i1 - 1, i1))
    return {i for i in touched if 0 <= i < max(len(original), 1)}


def collateral_lines(original: str, expected: str, result: str, slack: int = 2) -> list[int]:
    """Original lines (0-based) the result changed but the expected edit left alone.

    `slack` lines around each expected change are forgiven: a diff may align a changed block
    one or two lines differently (a moved blank line, a shared closing brace).
    """
    orig = normalized_lines(original)
    allowed = {i + d for i in touched_lines(orig, normalized_lines(expected)) for d in range(-slack, slack + 1)}
    return sorted(touched_lines(orig, normalized_lines(result)) - allowed)


def failure_category(original: str, expected: str, result: str | None, error_kind: str | None = None) -> str | None:
    """Why a result is wrong (first that applies, in ``CATEGORIES`` order); None when exact.

    error_kind: what the method reported ("did-not-finish", "elision-marker-leaked") when it
    gave no file; a result is still checked for leaked markers itself (a floor never reports).
    """
    if error_kind in CATEGORIES:
        return error_kind
    if result is None:
        return DID_NOT_FINISH
    if exact_match(result, expected):
        return None
    if new_marker_lines(result, original, expected):
        return MARKER_LEAKED
    if exact_match(result, original):
        return EDIT_MISSING
    if collateral_lines(original, expected, result):
        return COLLATERAL
    return OTHER
