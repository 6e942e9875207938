"""Render a lazy edit snippet (and a short instruction) from a real before/after file pair.

The snippet imitates what frontier models write when asked for an edit: the changed lines with a
few lines of context, every elided run of unchanged code replaced by one `... existing code ...`
comment indented like the code it stands for, and deletions shown only by their surrounding
context (the context lines end up adjacent, the deleted lines simply absent).

Everything here is pure: the variation (context width, marker wording) comes from a seed string, so
the same pair and seed always give the same snippet.
"""
from __future__ import annotations

import difflib
import hashlib
import random
import re
from dataclasses import dataclass

from fastapply.languages import Language

# Wordings seen in the wild (Cursor, Morph, Relace prompts, Claude/GPT edits). One per snippet:
# a model keeps its wording within one answer.
MARKER_PHRASES = (
    "... existing code ...",
    "... rest of the code ...",
    "... keep existing code ...",
    "... unchanged ...",
    "... existing code unchanged ...",
    "... rest of the code unchanged ...",
    "... other code ...",
)
CONTEXT_RANGE = (1, 4)
# An elided run this short is kept verbatim: nobody writes a marker to save a single line.
MIN_ELIDED_RUN = 2


@dataclass(frozen=True)
class SnippetStyle:
    context: int  # lines of unchanged context kept on each side of a change
    phrase: str  # marker wording, e.g. "... existing code ..."


def style_for(seed: str) -> SnippetStyle:
    """Deterministic per-task variation: same seed, same style, on any machine and Python."""
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    return SnippetStyle(context=rng.randint(*CONTEXT_RANGE), phrase=rng.choice(MARKER_PHRASES))


def marker_line(language: Language, phrase: str, indent: str) -> str:
    """One elision marker in the language's comment syntax (bare text where it has none)."""
    if language.line_comment:
        return f"{indent}{language.line_comment} {phrase}"
    if language.block_comment:
        opener, closer = language.block_comment
        return f"{indent}{opener} {phrase} {closer}"
    return f"{indent}{phrase}"


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _run_indent(lines: list[str]) -> str:
    """Indentation of an elided run: its shallowest non-blank line, so a run that closes a block
    and reaches back to the outer level gets the outer indentation."""
    indents = [_indent_of(line) for line in lines if line.strip()]
    return min(indents, key=len) if indents else ""


def changed_regions(before: list[str], after: list[str]) -> list[tuple[int, int, int, int]]:
    """Non-equal opcodes (i1, i2, j1, j2) of a line diff; autojunk off so the result does not
    depend on how often a line (say a lone `}`) repeats."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def kept_ranges(regions: list[tuple[int, int, int, int]], n_after: int, context: int) -> list[tuple[int, int]]:
    """Half-open ranges of after-file lines the snippet shows: each change plus `context` lines on
    each side (a pure deletion is an empty range, so it keeps only the context around the gap);
    ranges separated by fewer than MIN_ELIDED_RUN lines are merged, and so are such runs at
    the file's start and end."""
    spans = sorted((max(0, j1 - context), min(n_after, j2 + context)) for _, _, j1, j2 in regions)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] < MIN_ELIDED_RUN:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    if merged and merged[0][0] < MIN_ELIDED_RUN:
        merged[0] = (0, merged[0][1])
    if merged and n_after - merged[-1][1] < MIN_ELIDED_RUN:
        merged[-1] = (merged[-1][0], n_after)
    return merged


def render_snippet(original: str, expected: str, language: Language, style: SnippetStyle) -> str:
    """The lazy snippet that turns `original` into `expected`."""
    before, after = original.splitlines(), expected.splitlines()
    regions = changed_regions(before, after)
    if not regions:
        raise ValueError("no change between original and expected")
    out: list[str] = []
    cursor = 0
    for start, end in kept_ranges(regions, len(after), style.context):
        if start > cursor:
            out.append(marker_line(language, style.phrase, _run_indent(after[cursor:start])))
        out.extend(after[start:end])
        cursor = end
    if cursor < len(after):
        out.append(marker_line(language, style.phrase, _run_indent(after[cursor:])))
    return "\n".join(out) + "\n"


def touched_fraction(original: str, expected: str) -> float:
    """Share of the file a diff touches: the larger of removed-or-replaced original lines and
    inserted-or-replacing new lines, over the longer file."""
    before, after = original.splitlines(), expected.splitlines()
    regions = changed_regions(before, after)
    removed = sum(i2 - i1 for i1, i2, _, _ in regions)
    added = sum(j2 - j1 for _, _, j1, j2 in regions)
    return max(removed, added) / max(len(before), len(after), 1)


# --- instruction ---------------------------------------------------------------------------------
# A definition header, by language family. Deliberately simple: the instruction only has to name
# the thing that changed honestly, not parse the language.
_DEF_PATTERNS = (
    re.compile(r"^\s*(?:async\s+)?def\s+(?P<name>\w+)"),
    re.compile(r"^\s*class\s+(?P<name>\w+)"),
    re.compile(r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(?P<name>\w+)"),
    re.compile(r"^\s*(?:export\s+)?(?:const|let|var)\s+(?P<name>\w+)\s*=\s*(?:async\s*)?(?:function|\([^)]*\)\s*=>|\w+\s*=>)"),
    re.compile(r"^\s*(?:export\s+)?(?:abstract\s+)?(?:interface|enum|struct|trait|impl|type)\s+(?P<name>\w+)"),
    re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?fn\s+(?P<name>\w+)"),
    re.compile(r"^\s*func\s+(?:\([^)]*\)\s*)?(?P<name>\w+)"),
    # C, C++, Java, JS/TS methods: `type name(args) {` or `name(args) {`. The opening brace is
    # required: without it a bare call statement (`print(x)`) would read as a definition.
    re.compile(r"^\s*(?:[\w:<>\*&,\[\]]+\s+)*\**(?P<name>[A-Za-z_][\w:~]*)\s*\([^;]*\)\s*(?:const\s*)?(?::[^:{]*)?\{\s*$"),
)
_IMPORT = re.compile(
    r"^\s*(?:import\s+(?P<a>[\w.]+)|from\s+(?P<b>[\w.]+)\s+import\s|#\s*include\s*[<\"](?P<c>[^>\"]+)"
    r"|import\s.*\sfrom\s+['\"](?P<d>[^'\"]+)|(?:const|let|var)\s+.*=\s*require\(['\"](?P<e>[^'\"]+))"
)
_NOT_NAMES = {"if", "for", "while", "switch", "return", "catch", "sizeof", "else", "do", "elif", "with", "try", "function", "catch", "foreach"}


def _def_name(line: str) -> str | None:
    for pattern in _DEF_PATTERNS:
        match = pattern.match(line)
        if match and match.group("name") not in _NOT_NAMES:
            return match.group("name")
    return None


def _import_name(line: str) -> str | None:
    match = _IMPORT.match(line)
    return next((g for g in match.groups() if g), None) if match else None


def _enclosing(lines: list[str], index: int) -> str | None:
    """Name of the nearest definition whose header is at or above `index` and indented less than
    (or, for the header itself, as much as) the changed line."""
    if not lines:
        return None
    index = min(index, len(lines) - 1)
    target = len(_indent_of(lines[index])) if lines[index].strip() else 10**6
    for k in range(index, -1, -1):
        line = lines[k]
        if not line.strip():
            continue
        width = len(_indent_of(line))
        if width <= target:
            name = _def_name(line)
            if name:
                return name
            target = min(target, width - 1) if k != index else target
            if target < 0:
                return None
    return None


def describe_edit(original: str, expected: str, path: str) -> str:
    """A short, honest instruction derived from the diff: what was added, removed or updated."""
    before, after = original.splitlines(), expected.splitlines()
    added_defs: list[str] = []
    removed_defs: list[str] = []
    added_imports: list[str] = []
    removed_imports: list[str] = []
    updated: list[str] = []
    for i1, i2, j1, j2 in changed_regions(before, after):
        old_defs = [n for n in map(_def_name, before[i1:i2]) if n]
        new_defs = [n for n in map(_def_name, after[j1:j2]) if n]
        added_defs += [n for n in new_defs if n not in old_defs]
        removed_defs += [n for n in old_defs if n not in new_defs]
        old_imps = [n for n in map(_import_name, before[i1:i2]) if n]
        new_imps = [n for n in map(_import_name, after[j1:j2]) if n]
        added_imports += [n for n in new_imps if n not in old_imps]
        removed_imports += [n for n in old_imps if n not in new_imps]
        if not (new_defs or old_defs or new_imps or old_imps):
            name = _enclosing(after, j1) if j2 > j1 else _enclosing(before, i1)
            updated.append(name or "")
    clauses: list[str] = []

    def clause(verb: str, noun: str, names: list[str]) -> None:
        unique = list(dict.fromkeys(names))
        if unique:
            shown = ", ".join(f"`{n}`" for n in unique[:3]) + (" and more" if len(unique) > 3 else "")
            clauses.append(f"{verb} {noun}{'s' if len(unique) > 1 else ''} {shown}")

    clause("Add", "import", added_imports)
    clause("Remove", "import", removed_imports)
    clause("Add", "definition", added_defs)
    clause("Remove", "definition", removed_defs)
    named = [n for n in updated if n and n not in added_defs and n not in removed_defs]
    clause("Update", "definition", named)
    if any(not n for n in updated) or not clauses:
        # A change outside any recognisable definition: say where, not what we cannot name.
        clauses.append("update other code" if clauses else f"Update the code in `{path.rsplit('/', 1)[-1]}`")
    text = "; ".join(c[0].lower() + c[1:] for c in clauses[:3])
    return text[0].upper() + text[1:] + "."
