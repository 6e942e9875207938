"""fastapply: apply lazy code-edit snippets to files, fast and exactly.

    >>> import fastapply
    >>> result = fastapply.apply(original, snippet)                  # doctest: +SKIP
    >>> result = fastapply.apply(original, snippet, mode="merge")    # doctest: +SKIP
    >>> result.text, result.source, result.stats.tokens_per_second   # doctest: +SKIP
"""
from __future__ import annotations

from functools import lru_cache

from .errors import ConfigError, ContextTooLong, FastApplyError, InputError, OutputRejected
from .settings import ApplyPolicy, EngineSettings, Settings, SpeculativeSettings

__version__ = "0.1.0"
__all__ = ["apply", "Applier", "ApplyResult", "Settings", "EngineSettings", "SpeculativeSettings", "ApplyPolicy",
           "FastApplyError", "ConfigError", "InputError", "ContextTooLong", "OutputRejected"]


@lru_cache(maxsize=2)
def _shared_engine(engine: EngineSettings, cache_dir: str):
    # Keyed by what is loaded only: calls that differ in mode or draft lengths share a model.
    from .models import load

    return load(engine, cache_dir)


def apply(original: str, snippet: str, instruction: str | None = None, *, path: str | None = None,
          speculation: bool = True, settings: Settings | None = None, **options):
    """Apply a lazy edit snippet to ``original``; returns a result with ``.text`` and ``.stats``.

    ``options`` are settings by their flat names (``mode="merge"``, ``model=...``,
    ``draft_max=16``; see ``fastapply.settings``), validated as the CLI validates them, on
    top of ``settings`` (default: from the environment). ``path`` (optional) names the
    file's language for the merge. The loaded model is kept for the next call with the same
    engine settings.
    """
    from .applier import Applier

    from pydantic import ValidationError

    from .settings import describe_validation_error

    try:
        settings = settings or Settings()
        settings = settings.replace(**options) if options else settings
    except ValidationError as exc:  # a bad option value or an unknown name
        raise ConfigError(describe_validation_error(exc)) from None
    from . import textio

    # The same normalisation and restoration as the CLI, so both give the same bytes: line
    # endings (per line in a mixed file) and a BOM are kept.
    src = textio.from_text(original) if isinstance(original, str) else None
    snippet_text = textio.from_text(snippet).text if isinstance(snippet, str) else snippet
    result = Applier(settings, load=_shared_engine).apply(src.text if src else original, snippet_text, instruction,
                                                         path=path, speculation=speculation)
    result.text = src.restore(result.text)
    return result


def __getattr__(name: str):
    # Lazy: importing fastapply must not import a model runtime.
    if name in ("Applier", "ApplyResult"):
        from . import applier as _applier_module

        return getattr(_applier_module, name)
    raise AttributeError(name)
