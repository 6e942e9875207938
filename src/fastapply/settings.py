"""All settings, defined once.

Environment variables (``FASTAPPLY_<NAME>``), CLI flags and the Python API all read this
class; defaults live here and nowhere else.
"""
from __future__ import annotations

import os
import types
from typing import Literal, Union, get_args, get_origin

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def field_type(annotation):
    """A field's type as a CLI option takes it: ``int | None`` is ``int`` (None = not given)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return next(a for a in get_args(annotation) if a is not type(None))
    return annotation


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FASTAPPLY_", extra="forbid", frozen=True)

    mode: Literal["auto", "model", "merge"] = Field(
        "auto",
        description="model: the model rewrites the file. merge: deterministic merge, no model. "
        "auto: a confident merge is written at once; otherwise the model rewrites with the merge as its draft, "
        "and an answer that fails the guards is refused (with auto_prefer=model, a confident merge stands in).",
    )
    merge_min_confidence: float = Field(
        0.9, ge=0, le=1, description="Least merge confidence that auto mode writes (at once or as a fallback); "
        "0 writes every merge that merge mode would."
    )
    auto_prefer: Literal["merge", "model"] = Field(
        "merge",
        description="Auto mode with a merge of at least merge_min_confidence: 'merge' writes it without running "
        "the model (the embedded small models rarely get a whole file exactly right alone); 'model' has the model "
        "rewrite the file with the merge as its draft and writes the model's answer (suits a strong apply model).",
    )
    model: str = Field("smollm2-135m-apply", description="Embedded model name (see `fastapply models`) or a path to a GGUF file.")
    backend: str = Field("llama", description="Inference backend, by registry name.")
    n_ctx: int = Field(8192, ge=256, description="Context window in tokens (capped at the model's training context).")
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="CPU threads for the model.")
    exact: bool = Field(
        True,
        description="Make batched and single-token evaluation bit-identical (no weight repacking, no tiled matmul), "
        "so speculative output equals greedy output exactly; costs some prefill speed.",
    )
    draft_initial: int = Field(8, ge=1, description="Draft tokens verified in the first pass.")
    draft_min: int = Field(1, ge=1, description="Draft length after a rejection.")
    draft_max: int = Field(64, ge=1, description="Longest draft verified in one forward pass.")
    window_min_lines: int = Field(
        0, ge=0,
        description="Files of at least this many lines are rewritten in windows around the edits (where the "
        "snippet can be localised) instead of whole: much less prefill. 0: windows only for files beyond the context.",
    )
    window_radius: int = Field(
        30, ge=1,
        description="Original lines of context either side of an edited region in a window (then widened to "
        "whole top-level definitions close by).",
    )
    adapter: str | None = Field(
        None,
        description="LoRA adapter on top of the model: a GGUF adapter (llama backend) or a peft folder (hf). "
        "Embedded models that ship one load theirs unless this is given; 'none' turns it off.",
    )
    ngram_min: int = Field(2, ge=1, description="Shortest tail match that re-syncs the drafter after a divergence.")
    ngram_max: int = Field(4, ge=1, description="Longest tail match tried first when re-syncing.")
    cache_dir: str = Field(
        default_factory=lambda: os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "fastapply"),
        description="Where assembled models and benchmark sets are cached.",
    )
