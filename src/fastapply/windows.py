"""Files larger than the model's context: plan windows around the edits, stitch the answers.

Pure planning and stitching; the applier runs the model on each window. The deterministic
merge's anchoring says which original lines each snippet hunk replaces (its ``regions``).
Each region gets a window of ``radius`` lines either side, widened to the enclosing
top-level definition when that is close; overlapping windows merge. Per window the model
sees a sub-file (the window's original lines) and a sub-snippet (the hunks that land in
it, between elision markers) and rewrites only that; everything outside the windows is
copied verbatim, so the stitched file is exact there by construction:

    jobs = plan(original, snippet, merge(original, snippet, path="big.py"), radius=30)
    texts = [rewrite(job.original, job.snippet, draft=job.draft).text for job in jobs]
    new_file = stitch(original, jobs, texts)

``plan`` refuses (``Unlocalisable``, an ``OutputRejected``) when the snippet cannot be
localised: no markers (a whole-file replacement), or an anchoring the merge found ambiguous.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import OutputRejected
from .guards import MERGE_REFUSED
from .markers import is_marker
from .merge import MergeResult, Region


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


@dataclass(frozen=True)
class WindowJob:
    """One window to rewrite: its sub-file, sub-snippet, and (auto mode) its part of the merge."""

    window: Window
    original: str
    snippet: str
    draft: str | None


def plan(original: str, snippet: str, merged: MergeResult, radius: int = RADIUS, *,
         with_draft: bool = False) -> list[WindowJob]:
    """The windows to rewrite, in file order. ``with_draft`` (auto mode) gives each window
    the merged text of that window as its draft, where the merge succeeded."""
    if not merged.regions:
        why = "; ".join(merged.reasons) or "the snippet's edits could not be located"
        raise Unlocalisable(f"the file is too long for the model and its edits cannot be localised ({why})",
                            kind=MERGE_REFUSED)
    lines = original.splitlines(keepends=True)
    snippet_lines = snippet.replace("\r\n", "\n").split("\n")
    merged_lines = merged.text.splitlines(keepends=True) if (with_draft and merged.ok) else None
    jobs = []
    for window in plan_windows(lines, merged.regions, radius):
        draft = window_draft(merged_lines, window, merged.regions) if merged_lines is not None else None
        jobs.append(WindowJob(window, "".join(lines[window.start : window.end]), sub_snippet(snippet_lines, window), draft))
    return jobs


def stitch(original: str, jobs: list[WindowJob], texts: list[str]) -> str:
    """The original with each window's lines replaced by its rewritten text."""
    lines = original.splitlines(keepends=True)
    out, pos = [], 0
    for job, text in zip(jobs, texts):
        if job.original.endswith("\n") and not text.endswith("\n"):
            text += "\n"  # a window ends where the next copied line starts
        out.append("".join(lines[pos : job.window.start]) + text)
        pos = job.window.end
    out.append("".join(lines[pos:]))
    return "".join(out)


def describe(jobs: list[WindowJob]) -> str:
    spans = ", ".join(f"{job.window.start + 1}-{job.window.end}" for job in jobs)
    return f"file beyond the model's context: rewrote {len(jobs)} window(s), lines {spans}"
