"""fastapply: apply lazy code-edit snippets to files, fast and exactly.

    >>> import fastapply
    >>> result = fastapply.apply(original, snippet)      # doctest: +SKIP
    >>> result.text, result.stats.tokens_per_second     # doctest: +SKIP
"""
from __future__ import annotations

from functools import lru_cache

from .errors import ConfigError, ContextTooLong, FastApplyError, InputError, OutputRejected
from .settings import Settings

__version__ = "0.1.0"
__all__ = ["apply", "Applier", "ApplyResult", "Settings", "FastApplyError", "ConfigError", "InputError",
           "ContextTooLong", "OutputRejected"]


@lru_cache(maxsize=2)
def _applier(settings: Settings):
    from .applier import Applier

    return Applier(settings)


def apply(original: str, snippet: str, instruction: str | None = None, *, model: str | None = None,
          speculation: bool = True, path: str | None = None, settings: Settings | None = None):
    """Apply a lazy edit snippet to ``original``; returns a result with ``.text`` and ``.stats``.

    ``path`` (optional) names the file's language for the merge. The loaded model is kept
    for the next call with the same settings.
    """
    settings = settings or Settings()
    if model is not None:
        settings = settings.model_copy(update={"model": model})
    return _applier(settings).apply(original, snippet, instruction, path=path, speculation=speculation)


def __getattr__(name: str):
    # Lazy: importing fastapply must not import a model runtime.
    if name in ("Applier", "ApplyResult"):
        from . import applier as _applier_module

        return getattr(_applier_module, name)
    raise AttributeError(name)
