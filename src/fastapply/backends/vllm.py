"""``--backend vllm``: a vLLM server (or fleet behind a load balancer) running fastapply's
plugins as the model, so ``fastapply apply/eval --backend vllm`` runs the same applies there.

It is the ``openai`` backend (``remote.py``) with the one thing a vLLM upstream needs said:
the server must run ``PredictionProposer`` and the endpoint plugin (docs/vllm.md), which
turn the ``prediction`` this sends into drafts and report accepted/rejected prediction
tokens back. Nothing of vLLM is imported here: the server is another process, maybe another
machine, so this side needs only the ``openai`` client. Token-level commands
(``fastapply bench``) are refused as for any text-level engine: an API has no ``forward``.
"""
from __future__ import annotations

from ..errors import ConfigError
from .remote import RemoteEngine


class VllmEngine(RemoteEngine):
    name = "vllm"

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None = None, timeout: float = 600.0):
        if not base_url:
            raise ConfigError("--backend vllm needs --base-url: the /v1 URL of a `vllm serve` running fastapply's "
                              "plugins (docs/vllm.md), e.g. http://localhost:8000/v1")
        super().__init__(model, base_url=base_url, api_key=api_key, timeout=timeout)
