"""Files larger than the model's context: rewrite windows around the edits, copy the rest.

The deterministic merge's anchoring says which original lines each snippet hunk replaces
(``merge.edited_regions``). Each region gets a window of ``radius`` lines either side,
widened to the enclosing top-level definition when that is close; overlapping windows
merge. Per window the model sees a sub-file (the window's original lines) and a
sub-snippet (the hunks that land in it, between elision markers) and rewrites only that;
everything outside the windows is copied verbatim, so the stitched file is exact there
by construction.

    text, stats = rewrite_windows(applier, original, snippet, path="big.py")

Refuses (``OutputRejected``) when the snippet cannot be localised: no markers (a
whole-file replacement), or an anchoring the merge found ambiguous. A window the model
answers badly raises what ``Applier.rewrite`` raises, and nothing is stitched.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .applier import ApplyResult
from .errors import OutputRejected
from .markers import is_marker
from .merge import Region, merge
from .spec import DecodeStats

class Unlocalisable(OutputRejected):
    """The snippet's edits cannot be placed in the original, so no window can be cut."""


RADIUS = 30  # original lines of context either side of an edited region
_REACH = 40  # how far a window may grow further to start/end at a top-level boundary


@dataclass(frozen=True)
class Window:
    start: int  # original lines [start, end)
    end: int
    regions: tuple[Region, ...]


def _top_level(line: str) -> bool:
    """A line in column 0 that starts something (not a closer, not blank)."""
    return bool(line.strip()) and not line[0].isspace() and line.strip()[0] not in "}])"


def _widen(lines: list[str], start: int, end: int, reach: int = _REACH) -> tuple[int, int]:
    """Move start up to a top-level line and end down to just before one, within reach:
    the model then sees whole definitions, and the cut falls where nothing is open."""
    for k in range(start, max(-1, start - reach), -1):
        if _top_level(lines[k]):
            start = k
            break
    for k in range(end, min(len(lines), end + reach)):
        if _top_level(lines[k]):
            end = k
            break
    else:
        end = len(lines) if end + reach >= len(lines) else end
    return start, end


def plan_windows(lines: list[str], regions: list[Region], radius: int = RADIUS) -> list[Window]:
    """Windows around regions, widened and merged where they touch; in file order."""
    out: list[Window] = []
    for region in regions:
        lo = max(0, region.orig_start - radius)
        hi = min(len(lines), region.orig_end + radius)
        # Small windows stay small: a model tuned on short windows sees what it was trained on.
        lo, hi = _widen(lines, lo, hi, min(_REACH, radius))
        if out and lo <= out[-1].end:
            last = out.pop()
            lo, hi = last.start, max(hi, last.end)
            region_set = last.regions + (region,)
        else:
            region_set = (region,)
        out.append(Window(lo, hi, region_set))
    return out


def _marker(snippet_lines: list[str]) -> str:
    """The snippet's own marker wording (unindented), so the sub-snippet reads like it."""
    return next((line.strip() for line in snippet_lines if is_marker(line)), "# ... existing code ...")


def sub_snippet(snippet_lines: list[str], window: Window) -> str:
    """The hunks that land in the window, with a marker wherever the window has lines they skip."""
    marker = _marker(snippet_lines)
    out: list[str] = []
    pos = window.start
    for region in window.regions:
        if region.orig_start > pos:
            out.append(marker)
        out.extend(snippet_lines[region.snip_start : region.snip_end])
        pos = region.orig_end
    if pos < window.end:
        out.append(marker)
    return "\n".join(out) + "\n"


def window_draft(merged_lines: list[str], window: Window, regions: list[Region]) -> str:
    """The window's part of the merged file: original offsets shift by earlier regions' growth."""
    shift = sum(r.new_lines - (r.orig_end - r.orig_start) for r in regions if r.orig_end <= window.start)
    growth = sum(r.new_lines - (r.orig_end - r.orig_start) for r in window.regions)
    return "".join(merged_lines[window.start + shift : window.end + shift + growth])


def _add(total: DecodeStats, part: DecodeStats) -> None:
    for f in fields(DecodeStats):
        value = getattr(part, f.name)
        if f.name == "accept_hist":
            for k, v in value.items():
                total.accept_hist[k] = total.accept_hist.get(k, 0) + v
        elif f.name == "stop_reason":
            total.stop_reason = value
        else:
            setattr(total, f.name, getattr(total, f.name) + value)


def rewrite_windows(
    applier,
    original: str,
    snippet: str,
    instruction: str | None = None,
    *,
    path: str | None = None,
    draft: str | None = None,
    radius: int = RADIUS,
    **rewrite_kw,
):
    """Rewrite only the windows around the snippet's edits; returns an ApplyResult.

    ``draft`` (the merged file, as auto mode passes it) makes each window's draft the
    merged text of that window; without it the windows are rewritten from the original
    and the snippet only, as in model mode.
    """
    merged = merge(original, snippet, path=path)
    if not merged.regions:
        why = "; ".join(merged.reasons) or "the snippet's edits could not be located"
        raise Unlocalisable(f"the file is too long for the model and its edits cannot be localised ({why})")
    lines = original.splitlines(keepends=True)
    snippet_lines = snippet.replace("\r\n", "\n").split("\n")
    merged_lines = merged.text.splitlines(keepends=True) if (draft is not None and merged.ok) else None
    plan = plan_windows(lines, merged.regions, radius)
    stats, answers, out, pos = DecodeStats(), [], [], 0
    for window in plan:
        sub_original = "".join(lines[window.start : window.end])
        draft_text = window_draft(merged_lines, window, merged.regions) if merged_lines is not None else None
        result = applier.rewrite(sub_original, sub_snippet(snippet_lines, window), instruction,
                                 draft=draft_text, **rewrite_kw)
        _add(stats, result.stats)
        answers.append(result.answer)
        text = result.text
        if sub_original.endswith("\n") and not text.endswith("\n"):
            text += "\n"  # a window ends where the next copied line starts
        out.append("".join(lines[pos : window.start]) + text)
        pos = window.end
    out.append("".join(lines[pos:]))
    spans = ", ".join(f"{w.start + 1}-{w.end}" for w in plan)
    return ApplyResult("".join(out), stats, "\n".join(answers), result.model, source="model",
                       notes=[f"file beyond the model's context: rewrote {len(plan)} window(s), lines {spans}"])
