r"""Deterministic lazy merge: apply a lazy edit snippet to a file without a model.

Worked example (the tests run these as doctests):

    >>> original = "def a():\n    return 1\n\ndef b():\n    return 2\n"
    >>> snippet = "# ... existing code ...\ndef b():\n    return 20\n"
    >>> print(merge(original, snippet, path="m.py").text, end="")
    def a():
        return 1
    <BLANKLINE>
    def b():
        return 20

A line the original repeats is placed by its neighbours, and refused without them:

    >>> original = "class A:\n    def f(self):\n        return 1\n\nclass B:\n    def f(self):\n        return 1\n"
    >>> merge(original, "# ...\nclass B:\n    def f(self):\n        return 2\n", path="m.py").text.splitlines()[-1]
    '        return 2'
    >>> merge(original, "# ...\n    def f(self):\n        return 2\n# ...\n", path="m.py").reasons
    ['ambiguous anchor: the snippet fits the original at more than one place (lines [2, 6])']

The snippet's concrete lines are anchored to the original (exact, then ignoring
whitespace, then by definition name via tree-sitter when installed), each hunk
replaces the original span it covers, and markers keep what they stand for. The
merge refuses (``text`` is None) rather than guess: ambiguous anchors, overlapping
hunks, unplaceable hunks, mass deletion, or a result that no longer parses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from fastapply.guards import MASS_DELETION, nonblank
from fastapply.languages import detect
from fastapply.merge import structure
from fastapply.merge.anchor import align, candidates
from fastapply.merge.segment import classify, split_hunks, strip_fences, ws_key
from fastapply.merge.splice import Context, Plan, Refusal, assemble, place

__all__ = ["MergeResult", "Region", "edited_regions", "merge"]

_REPLACEMENT_OVERLAP = 0.3  # below this share of shared lines, a marker-less snippet is new text


@dataclass(frozen=True)
class Region:
    """One snippet hunk and the original lines it replaces (0-based, half-open ranges).

    ``orig_start == orig_end`` is a pure insertion before ``orig_start``; ``new_lines`` is
    how many lines replace the range in the merged text.
    """

    orig_start: int
    orig_end: int
    snip_start: int  # in the snippet as given (code fences and leading blank lines counted)
    snip_end: int
    new_lines: int


@dataclass
class MergeResult:
    text: str | None  # merged file; None when the merge refuses
    confidence: float  # 0..1; 1.0 = every snippet line anchored exactly and unambiguously
    reasons: list[str] = field(default_factory=list)  # why refused, or why confidence < 1
    # Where each hunk went, whenever the anchoring succeeded -- also when a later guard
    # (mass deletion, parse error) refused the text: the edited places are still known.
    regions: list[Region] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.text is not None


def _lines(text: str) -> tuple[list[str], bool]:
    """Lines without their "\\n", and whether the text ended with one."""
    ends = text.endswith("\n")
    body = text[:-1] if ends else text
    return (body.split("\n") if body else []), ends


def _refuse(reason: str) -> MergeResult:
    return MergeResult(None, 0.0, [reason])


def _definitions(text: str, grammar: str) -> dict[int, structure.Definition]:
    found = structure.definitions(text, grammar) or []
    return {d.line: d for d in found}


def _structural_candidates(ctx: Context, concrete: list[int]) -> dict[int, list[int]]:
    """Snippet definition lines -> original lines defining the same family and name."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for line, d in ctx.orig_defs.items():
        by_key.setdefault((d.family, d.name), []).append(line)
    shown = set(concrete)
    return {i: by_key[(d.family, d.name)] for i, d in ctx.snip_defs.items() if i in shown and (d.family, d.name) in by_key}


def _check(plan: Plan, ctx: Context, grammar: str) -> list[str]:
    """Apply the plan and run the guards: mass deletion, and parse errors the original lacked."""
    merged = assemble(ctx.original, plan.spans)
    removed = sum(nonblank(ctx.original[s.start : s.end + 1]) - nonblank(s.lines) for s in plan.spans)
    total = nonblank(ctx.original)
    if removed > max(5, MASS_DELETION * total):
        raise Refusal(f"the merge would remove {removed} of {total} non-blank lines")
    if structure.parses_cleanly("\n".join(ctx.original), grammar) and structure.parses_cleanly("\n".join(merged), grammar) is False:
        raise Refusal(f"the merged text does not parse as {grammar} while the original does")
    return merged


def _whole_file(snippet: list[str], original: list[str]) -> MergeResult | None:
    """A marker-less snippet sharing almost nothing with the original: new text or refusal."""
    keys = {ws_key(line) for line in original if line.strip()}
    lines = [line for line in snippet if line.strip()]
    shared = sum(1 for line in lines if ws_key(line) in keys)
    if shared >= _REPLACEMENT_OVERLAP * len(lines):
        return None
    if len(lines) >= 0.5 * nonblank(original):
        return MergeResult("\n".join(snippet), 0.7, ["no markers and little overlap with the original: whole-file replacement"])
    return _refuse("snippet has no markers, shares almost nothing with the original and is much shorter: fragment or replacement?")


def merge(original: str, snippet: str, *, path: str | None = None, language: str | None = None) -> MergeResult:
    """Merge a lazy snippet into original. See the module docstring for an example."""
    language = language or detect(path).name
    grammar = structure.grammar_name(language, path)
    orig, ends = _lines(original)
    given = _lines(snippet.replace("\r\n", "\n"))[0]
    snip = strip_fences(given)
    # Snippet lines dropped in front (a fence, blank lines), so that regions index `snippet`.
    offset = 0 if snip is given else next(i for i, line in enumerate(given) if line.strip()) + 1
    while snip and not snip[0].strip():
        snip.pop(0)
        offset += 1
    while snip and not snip[-1].strip():
        snip.pop()
    if not snip:
        return _refuse("empty snippet")
    flags = classify(snip, orig, language)
    hunks = split_hunks(snip, flags)
    finish = (lambda lines: "\n".join(lines) + ("\n" if ends and lines else ""))
    if not hunks:
        return MergeResult(original, 0.5, ["snippet has only markers: nothing to change"])
    if not nonblank(orig):
        if any(flags):
            return _refuse("snippet has markers but the original is empty: nothing for them to stand for")
        return MergeResult(finish(snip), 1.0, [])
    if not any(flags):
        whole = _whole_file(snip, orig)
        if whole is not None:
            if whole.ok:
                whole.text = finish(snip)
            return whole
    ctx = Context(snip, orig, language, _definitions("\n".join(orig), grammar), _definitions("\n".join(snip), grammar))
    concrete = [i for i, flag in enumerate(flags) if not flag]
    pairs = candidates(snip, concrete, orig, _structural_candidates(ctx, concrete))
    early, late = align(snip, orig, hunks, pairs)
    regions: list[Region] = []
    try:
        plan = place(ctx, hunks, early, flags)
        regions = [Region(s.start, s.end + 1, h.start + offset, h.end + 1 + offset, len(s.lines))
                   for h, s in zip(hunks, plan.spans)]
        merged = _check(plan, ctx, grammar)
        if late != early:
            other = place(ctx, hunks, late, flags)
            if assemble(orig, other.spans) != merged:
                where = sorted({a.orig + 1 for a in early.values()} ^ {a.orig + 1 for a in late.values()})
                raise Refusal(f"ambiguous anchor: the snippet fits the original at more than one place (lines {where[:6]})")
    except Refusal as refusal:
        result = _refuse(str(refusal))
        result.regions = regions if not str(refusal).startswith("ambiguous") else []
        return result
    _edges(plan, orig, flags, hunks)
    return MergeResult(finish(merged), round(plan.confidence, 4), plan.reasons, regions)


def edited_regions(original: str, snippet: str, *, path: str | None = None) -> list[Region]:
    """The original line ranges the snippet's hunks replace, in order; [] when the snippet
    cannot be anchored (ambiguous, unplaceable, no markers: nothing to localise)."""
    return merge(original, snippet, path=path).regions


def _edges(plan: Plan, orig: list[str], flags: list[bool], hunks) -> None:
    """Lines kept above/below the snippet without a marker saying so lower the confidence.

    When the snippet has markers elsewhere, below auto mode's fallback threshold: literally
    the snippet says those lines are gone, in practice models forget edge markers, and on
    the benchmark keeping them was never right (0 of 26): neither reading is safe unasked.
    """
    first, last = plan.spans[0], plan.spans[-1]
    above = nonblank(orig[: first.start]) if hunks[0].marker_before is None else 0
    below = nonblank(orig[last.end + 1 :]) if hunks[-1].marker_after is None else 0
    if above or below:
        # A snippet with no markers at all is a fragment, spliced in place; one that uses
        # markers but not at this edge may well mean what it shows.
        plan.doubt(0.8 if any(flags) else 0.9, f"no marker at the snippet's edge: {above} line(s) above and {below} below kept as they were")
