"""Snippet styles: the same real edit rendered the many ways models write lazy snippets.

The benchmark's own snippets (``snippets.render_snippet``) vary context width and marker
wording a little. Real snippets vary much more: markers without an ellipsis (``# (existing
code)``), in prose (``// rest of the function stays the same``), in block comments, at
column 0 or at the hunk's indent instead of the elided code's; no context or a lot; markers
for single elided lines; no marker at the snippet's edges; whole definitions rewritten with
their unchanged lines inside. Each named style here is a deterministic renderer, so
``fastapply eval --style NAME|all`` measures the merge on every one of them.

    >>> before = "".join(f"v{i} = {i}\\n" for i in range(10))
    >>> after = before.replace("v5 = 5", "v5 = 50")
    >>> print(render(before, after, "x.py", STYLES["column0-no-ellipsis"]), end="")
    # (existing code)
    v3 = 3
    v4 = 4
    v5 = 50
    v6 = 6
    v7 = 7
    # (existing code)

The CPython standard library is never a source here: styles re-render the benchmark's own
pairs, which the stdlib guard already filtered.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from fastapply.corpus.snippets import changed_regions, marker_line
from fastapply.languages import Language, detect


@dataclass(frozen=True)
class Style:
    name: str
    phrase: str = "... existing code ..."
    context: int = 2  # unchanged lines kept on each side of a change
    comment: str = "line"  # line | block: which comment syntax carries the marker (block falls back to line)
    indent: str = "code"  # code: like the elided code; column0; hunk: like the neighbouring shown line
    edges: bool = True  # markers for elided runs at the file's start and end
    min_elided: int = 2  # shorter unchanged runs between shown lines are shown, not elided
    whole_definitions: bool = False  # show each touched top-level definition whole


STYLES = {s.name: s for s in [
    Style("existing-code"),
    Style("rest-unchanged", phrase="... rest of the code unchanged ...", context=1),
    Style("no-ellipsis", phrase="(existing code)"),
    Style("prose", phrase="rest of the code stays the same", context=3),
    Style("block-comment", comment="block", phrase="..."),
    Style("column0-no-ellipsis", phrase="(existing code)", indent="column0"),
    Style("hunk-indent", indent="hunk", phrase="... unchanged ..."),
    Style("context0", context=0),
    Style("context5", context=5, phrase="... other code ..."),
    Style("no-edge-markers", edges=False),
    Style("single-line-elisions", min_elided=1, context=1),
    Style("whole-definitions", whole_definitions=True, context=0),
    Style("snip", phrase="snip", comment="block", context=1),
]}


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def marker(language: Language, style: Style, indent: str) -> str:
    """One marker line in the style's comment syntax (``snippets.marker_line`` unless a block
    comment is asked for and the language has one)."""
    if style.comment == "block" and language.block_comment:
        opener, closer = language.block_comment
        return f"{indent}{opener} {style.phrase} {closer}"
    return marker_line(language, style.phrase, indent)


def _top_level(line: str) -> bool:
    """A line that starts something at column 0 (not blank, not a closer)."""
    return bool(line.strip()) and not line[0].isspace() and line.strip()[0] not in "}])"


def _whole(lines: list[str], start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to the top-level definitions it touches."""
    while start > 0 and not _top_level(lines[start]):
        start -= 1
    while end < len(lines) and not _top_level(lines[end]):
        end += 1
    return start, end


def shown_ranges(before: list[str], after: list[str], style: Style) -> list[tuple[int, int]]:
    """Half-open ranges of after-file lines the snippet shows, merged where the unchanged run
    between them is shorter than ``min_elided``."""
    spans = []
    for _, _, j1, j2 in changed_regions(before, after):
        start, end = max(0, j1 - style.context), min(len(after), j2 + style.context)
        if style.whole_definitions and after:
            start, end = _whole(after, min(start, len(after) - 1), end)
        spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] < style.min_elided:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    if merged and merged[0][0] < style.min_elided:
        merged[0] = (0, merged[0][1])
    if merged and len(after) - merged[-1][1] < style.min_elided:
        merged[-1] = (merged[-1][0], len(after))
    return merged


def render(original: str, expected: str, path: str, style: Style) -> str:
    """The lazy snippet in ``style`` that turns ``original`` into ``expected``."""
    before, after = original.splitlines(), expected.splitlines()
    if not changed_regions(before, after):
        raise ValueError("no change between original and expected")
    language = detect(path)
    out: list[str] = []
    cursor = 0
    ranges = shown_ranges(before, after, style)

    def elide(lo: int, hi: int, neighbour: str) -> None:
        run = [line for line in after[lo:hi] if line.strip()]
        indent = {"column0": "", "hunk": _indent(neighbour)}.get(style.indent, min(map(_indent, run), key=len, default=""))
        out.append(marker(language, style, indent))

    for start, end in ranges:
        if start > cursor and (cursor > 0 or style.edges):
            elide(cursor, start, after[start] if start < len(after) else "")
        out.extend(after[start:end])
        cursor = end
    if cursor < len(after) and style.edges:
        elide(cursor, len(after), after[cursor - 1] if cursor else "")
    return "\n".join(out) + "\n"


def restyle(task, style: Style):
    """The benchmark task with its snippet rendered in ``style`` (its id marks the style)."""
    return replace(task, id=f"{task.id}@{style.name}", snippet=render(task.original, task.expected, task.path, style))


def style_of(task_id: str) -> str:
    """The style a task id was restyled in (``restyle`` marks it), or "benchmark" for the set's own snippets."""
    name = task_id.rpartition("@")[2]
    return name if "@" in task_id and name in STYLES else "benchmark"
