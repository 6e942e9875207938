"""Speculative-edits core: pure functions and small classes on token ids.

Nothing in this package imports a backend. The layering, top to bottom:

    drafters.py  where draft tokens come from (copied from the file, the snippet, a merge)
    schedule.py  how many draft tokens to verify next (against the backend's verify cost)
    verify.py    which draft tokens the model accepts (greedy: longest agreeing prefix + bonus)
    decode.py    prefill -> decode one -> verify a draft -> generate, returning DecodeStats
    config.py    make_drafter(settings, sources): the drafter and schedule every caller uses
"""
from .config import make_drafter
from .decode import DecodeStats, generate
from .drafters import CopyDrafter, Drafter
from .schedule import AdaptiveDraftLength
from .verify import accept_greedy

__all__ = ["AdaptiveDraftLength", "CopyDrafter", "DecodeStats", "Drafter", "accept_greedy", "generate", "make_drafter"]
