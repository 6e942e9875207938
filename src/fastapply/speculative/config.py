"""From settings to the objects the decode loop takes: one place, for every caller.

``config`` is duck-typed (``fastapply.settings.SpeculativeSettings`` in practice), so the
core stays free of the settings module:

    drafter, schedule = make_drafter(settings.speculative, [merged_ids, file_ids, snippet_ids])
    generate(engine, prompt_ids, drafter=drafter, schedule=schedule, ...)

``sources=None`` means plain decoding: no drafter, the schedule unused.
"""
from __future__ import annotations

from collections.abc import Sequence

from .drafters import CopyDrafter
from .schedule import AdaptiveDraftLength


def make_drafter(config, sources: Sequence[Sequence[int]] | None) -> tuple[CopyDrafter | None, AdaptiveDraftLength]:
    """A copy drafter over ``sources`` (priority order) and its draft-length schedule."""
    schedule = AdaptiveDraftLength(config.draft_initial, config.draft_min, config.draft_max)
    if sources is None:
        return None, schedule
    return CopyDrafter(sources, ngram_min=config.ngram_min, ngram_max=config.ngram_max), schedule
