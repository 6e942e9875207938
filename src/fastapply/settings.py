"""All settings, defined once, in three parts by concern.

- ``EngineSettings``: what to load (model, backend, context, threads, exactness, adapter).
  Engines are cached by it, so changing only the policy never loads a second model.
- ``SpeculativeSettings``: how to draft and verify (draft lengths, n-gram re-sync).
- ``ApplyPolicy``: what to do with a merge and a model answer (mode, confidence, windows).

``Settings`` holds one of each plus ``cache_dir``. Environment variables keep their flat
names (``FASTAPPLY_MODEL``, ``FASTAPPLY_DRAFT_MAX``, ...; every leaf name is unique across
the parts), the CLI makes one flag per leaf, and the Python API takes the leaves as flat
keyword arguments too:

    >>> Settings(mode="merge", draft_max=16).policy.mode
    'merge'
    >>> Settings(mode="merge", draft_max=16).speculative.draft_max
    16

Defaults live here and nowhere else.
"""
from __future__ import annotations

import os
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "FASTAPPLY_"


def field_type(annotation):
    """A field's type as a CLI option takes it: ``int | None`` is ``int`` (None = not given)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return next(a for a in get_args(annotation) if a is not type(None))
    return annotation


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineSettings(_Part):
    """What to load. Two applies with equal EngineSettings share one loaded model."""

    model: str = Field("smollm2-135m-apply", description="Embedded model name (see `fastapply models`) or a path to a GGUF file.")
    backend: str = Field("llama", description="Inference backend, by registry name.")
    n_ctx: int = Field(8192, ge=256, description="Context window in tokens (capped at the model's training context).")
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="CPU threads for the model.")
    exact: bool = Field(
        True,
        description="Make batched and single-token evaluation bit-identical (no weight repacking, no tiled matmul), "
        "so speculative output equals greedy output exactly; costs some prefill speed.",
    )
    adapter: str | None = Field(
        None,
        description="LoRA adapter on top of the model: a GGUF adapter (llama backend) or a peft folder (hf). "
        "Embedded models that ship one load theirs unless this is given; 'none' turns it off.",
    )
    base_url: str | None = Field(
        None, description="With --backend openai: the OpenAI-compatible upstream (e.g. http://host:8000/v1); "
        "--model is then the upstream's model name.",
    )
    api_key: SecretStr | None = Field(None, description="With --backend openai: the upstream's API key.")


class SpeculativeSettings(_Part):
    """How drafts are made and how long they are (``speculative.make_drafter`` reads it)."""

    draft_initial: int = Field(8, ge=1, description="Draft tokens verified in the first pass.")
    draft_min: int = Field(1, ge=1, description="Draft length after a rejection.")
    draft_max: int = Field(64, ge=1, description="Longest draft verified in one forward pass.")
    ngram_min: int = Field(2, ge=1, description="Shortest tail match that re-syncs the drafter after a divergence.")
    ngram_max: int = Field(4, ge=1, description="Longest tail match tried first when re-syncing.")

    @model_validator(mode="after")
    def _ordered(self) -> "SpeculativeSettings":
        for low, high in (("draft_min", "draft_max"), ("ngram_min", "ngram_max")):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"--{low.replace('_', '-')} ({ENV_PREFIX}{low.upper()}) = {getattr(self, low)} "
                                 f"must not exceed --{high.replace('_', '-')} ({ENV_PREFIX}{high.upper()}) = "
                                 f"{getattr(self, high)}")
        return self


class ApplyPolicy(_Part):
    """Who writes the file: the merge, the model, or the model checked against the merge."""

    mode: Literal["auto", "model", "merge"] = Field(
        "auto",
        description="model: the model rewrites the file. merge: deterministic merge, no model. "
        "auto: a confident merge is written at once; otherwise the model rewrites with the merge as its draft, "
        "and an answer that fails the guards is refused (with auto_prefer=model, a confident merge stands in).",
    )
    merge_min_confidence: float = Field(
        0.9, ge=0, le=1, allow_inf_nan=False, description="Least merge confidence that auto mode writes (at once or as a fallback); "
        "0 writes every merge that merge mode would."
    )
    auto_prefer: Literal["merge", "model"] = Field(
        "merge",
        description="Auto mode with a merge of at least merge_min_confidence: 'merge' writes it without running "
        "the model (the embedded small models rarely get a whole file exactly right alone); 'model' has the model "
        "rewrite the file with the merge as its draft and writes the model's answer (suits a strong apply model).",
    )
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
    allow_syntax_errors: bool = Field(
        False,
        description="Write a result that introduces syntax errors the original did not have (tree-sitter, and "
        "Python's own compiler for .py); by default such a result is refused.",
    )
    max_input_bytes: int = Field(
        4 * 1024 * 1024, ge=1,
        description="Largest file or snippet accepted, in bytes; bigger inputs are refused before any work.",
    )


# The parts by the Settings field that holds them. Leaf names are unique across parts, which
# is what lets flags, env vars and API keywords stay flat.
PARTS: dict[str, type[_Part]] = {"engine": EngineSettings, "speculative": SpeculativeSettings, "policy": ApplyPolicy}
_PART_OF = {leaf: part for part, cls in PARTS.items() for leaf in cls.model_fields}


def _regroup(data: dict[str, Any]) -> dict[str, Any]:
    """Flat leaf keys (``model=``, ``mode=``) moved into their parts; a flat key wins over the
    same leaf given inside a part, since flat keys are what a caller names explicitly."""
    out = {k: v for k, v in data.items() if k not in _PART_OF}
    for key, value in data.items():
        if key in _PART_OF:
            part = _PART_OF[key]
            current = out.get(part, {})
            if isinstance(current, BaseModel):
                current = current.model_dump()
            out[part] = {**current, key: value}
    return out


class _FlatEnv(PydanticBaseSettingsSource):
    """``FASTAPPLY_<LEAF>`` for every leaf of every part, plus ``FASTAPPLY_CACHE_DIR``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False  # unused: __call__ reads every name at once

    def __call__(self) -> dict[str, Any]:
        names = [*_PART_OF, "cache_dir"]
        found = {n: os.environ[ENV_PREFIX + n.upper()] for n in names if ENV_PREFIX + n.upper() in os.environ}
        return _regroup(found)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    engine: EngineSettings = Field(default_factory=EngineSettings)
    speculative: SpeculativeSettings = Field(default_factory=SpeculativeSettings)
    policy: ApplyPolicy = Field(default_factory=ApplyPolicy)
    cache_dir: str = Field(
        default_factory=lambda: os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "fastapply"),
        description="Where assembled models and benchmark sets are cached.",
    )

    @model_validator(mode="before")
    @classmethod
    def _flat_keywords(cls, data: Any) -> Any:
        return _regroup(data) if isinstance(data, dict) else data

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # Flat env names only (FASTAPPLY_MODEL, not FASTAPPLY_ENGINE__MODEL): one name per setting.
        return init_settings, _FlatEnv(settings_cls)

    def replace(self, **leaves: Any) -> "Settings":
        """A copy with some leaves changed, by their flat names (validated like the constructor)."""
        return Settings(**{**self.model_dump(), **leaves})


class ServerSettings(BaseSettings):
    """``fastapply serve``: where and how the HTTP server listens. Kept out of ``Settings``
    (what an apply does) the way llama-cpp-python keeps ServerSettings apart from
    ModelSettings: the same engine and policy serve the CLI and the server."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for every interface).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on (0: any free port).")
    auth_token: SecretStr | None = Field(
        None, description="Require 'Authorization: Bearer TOKEN' on every endpoint but /health (the openai "
        "client's api_key). Unset: no auth.",
    )
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body accepted (else 413).")
    queue_size: int = Field(
        16, ge=1, description="Requests admitted at once (waiting or running); beyond it 429 with Retry-After.",
    )
    retry_after: int = Field(2, ge=1, description="Seconds a 429 or 503 answer asks the client to wait.")
    body_timeout: float = Field(30.0, gt=0, description="Seconds a client may take to send its body (else 408).")
    served_name: str | None = Field(
        None, description="Model name /v1/models lists and chat requests use for plain completions "
        "(default: the engine's model).",
    )


def describe_validation_error(exc: Any) -> str:
    """A pydantic ValidationError in one line, each problem by its flag and env var:

    >>> from pydantic import ValidationError
    >>> try:
    ...     Settings(threads=0)
    ... except ValidationError as exc:
    ...     print(describe_validation_error(exc))
    invalid settings: --threads (FASTAPPLY_THREADS): input should be greater than or equal to 1 (got 0)
    """
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if str(part) not in PARTS]
        leaf = loc[-1] if loc else ""
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        if leaf in _PART_OF or leaf == "cache_dir":
            where = f"--{leaf.replace('_', '-')} ({ENV_PREFIX}{leaf.upper()})"
            problems.append(f"{where}: {msg} (got {err.get('input')!r})" if "input" in err and not isinstance(
                err["input"], dict) else f"{where}: {msg}")
        elif leaf:
            problems.append(f"{leaf}: {msg}")
        else:
            problems.append(msg)
    return "invalid settings: " + "; ".join(p.replace("\n", " ") for p in problems)


def leaf_fields() -> dict[str, FieldInfo]:
    """Every setting by its flat name (the CLI flag, the env var, the API keyword)."""
    out = {leaf: PARTS[part].model_fields[leaf] for leaf, part in _PART_OF.items()}
    out["cache_dir"] = Settings.model_fields["cache_dir"]
    return out
