"""Backends by name.

Built-in backends register through the same entry-point group ("fastapply.backends")
that third-party packages use; the class is imported only when asked for, so the heavy
runtime (llama.cpp, torch) is loaded only by the backend that needs it.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ..errors import ConfigError

# Fallback when the package metadata is not installed (running from a source tree).
_BUILTIN = {
    "llama": "fastapply.backends.llamacpp:LlamaCppEngine",
    "hf": "fastapply.backends.hf:TransformersEngine",
    "openai": "fastapply.backends.remote:RemoteEngine",
    "vllm": "fastapply.backends.vllm:VllmEngine",
}


def _targets() -> dict[str, str]:
    found = dict(_BUILTIN)
    for ep in entry_points(group="fastapply.backends"):
        found[ep.name] = ep.value
    return found


def available() -> list[str]:
    return sorted(_targets())


def get_engine_class(name: str) -> type:
    targets = _targets()
    if name not in targets:
        raise ConfigError(f"unknown backend {name!r}; available: {', '.join(available())}")
    module, _, attr = targets[name].partition(":")
    try:
        mod = __import__(module, fromlist=[attr])
    except ImportError as exc:  # the backend's extra is not installed
        raise ConfigError(f"backend {name!r} needs an optional dependency: {exc}. "
                          f"Install it with: pip install 'fastapply[{name}]'") from exc
    return getattr(mod, attr)


def load_engine(name: str, model_path: str, **options: Any):
    return get_engine_class(name)(model_path, **options)
