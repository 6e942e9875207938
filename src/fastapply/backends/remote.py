"""``--backend openai``: any OpenAI-compatible upstream as the model (OpenAI, Fireworks, a
vLLM fleet, fastapply's own server), with the file sent as ``prediction``.

Why this is not an ``Engine``: the protocol in ``base.py`` is token-level -- ``forward``
over the KV cache, ``truncate`` to roll drafts back -- and a chat API offers neither; the
upstream verifies the prediction itself, server-side. So a remote engine sits one level
up, where ``Applier.rewrite`` works: it takes the file and the snippet and returns the
model's whole answer. The Applier sees ``text_level = True`` and calls ``rewrite`` here
instead of running the decode loop; everything around it (the merge in auto mode, the
guards, the write path) is shared with the local engines.

What is sent: the same apply prompt as locally (``prompt.messages``), and as the
prediction the answer a perfect model would write -- the merge in auto mode, else the
original -- in the answer's own layout (``<updated-code>`` ... ``</updated-code>``).
The accepted and rejected prediction tokens the upstream reports become the draft
statistics (``drafted = accepted + rejected``). An upstream may answer with the tags (a
chat model following the prompt) or with the bare file (Morph, Relace, fastapply's own
``auto`` model); both are understood.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .. import prompt
from ..errors import ConfigError, FastApplyError
from ..speculative import DecodeStats


@dataclass
class TextAnswer:
    text: str | None  # the updated file; None when the answer holds no whole file
    answer: str  # the upstream's raw message content
    stats: DecodeStats


def file_from_answer(answer: str, original: str) -> str | None:
    """The file in an answer: inside ``<updated-code>`` tags if it has them, else all of it.

    Example:
        file_from_answer("<updated-code>\\na = 2\\n</updated-code>", "a = 1\\n") -> "a = 2\\n"
        file_from_answer("a = 2\\n", "a = 1\\n")                                -> "a = 2\\n"
        file_from_answer("<updated-code>\\na = 2\\n", "a = 1\\n")              -> None (cut off)
    """
    start = answer.find(prompt.OPEN_TAG)
    if start < 0:
        return answer
    body = answer[start + len(prompt.OPEN_TAG):]
    return prompt.extract(body[1:] if body.startswith("\n") else body, original)


class RemoteEngine:
    name = "openai"
    text_level = True  # Applier.rewrite calls rewrite() below instead of the decode loop

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None = None, timeout: float = 600.0):
        try:
            from openai import OpenAI
        except ImportError as exc:
            raise ConfigError(f"--backend openai needs the openai package ({exc}): pip install 'fastapply[server]'")
        if not base_url:
            raise ConfigError("--backend openai needs --base-url (e.g. http://localhost:8000/v1)")
        self.model = model
        key = api_key or os.environ.get("OPENAI_API_KEY") or "none"  # local servers often want none
        self._client = OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=2)

    def rewrite(self, original: str, snippet: str, instruction: str | None, *, draft: str | None = None,
                speculation: bool = True, max_tokens: int | None = None) -> TextAnswer:
        import openai

        extra = {}
        if speculation:
            predicted = prompt.answer_prefix() + prompt.expected_answer(draft if draft is not None else original)
            extra["prediction"] = {"type": "content", "content": predicted}
        if max_tokens:
            extra["max_tokens"] = max_tokens
        t0 = time.perf_counter()
        try:
            reply = self._client.chat.completions.create(
                model=self.model, messages=prompt.messages(original, snippet, instruction), temperature=0, **extra)
        except openai.APIError as exc:
            raise FastApplyError(f"the upstream refused or failed: {exc}") from None
        seconds = time.perf_counter() - t0
        answer = reply.choices[0].message.content or ""
        stats = DecodeStats(decode_seconds=seconds, stop_reason=reply.choices[0].finish_reason or "")
        if reply.usage is not None:
            u = reply.usage
            stats.prompt_tokens, stats.output_tokens = u.prompt_tokens, u.completion_tokens
            cached = getattr(u.prompt_tokens_details, "cached_tokens", None)
            stats.cached_prompt_tokens = cached or 0
            details = u.completion_tokens_details
            accepted = (getattr(details, "accepted_prediction_tokens", None) or 0) if details else 0
            rejected = (getattr(details, "rejected_prediction_tokens", None) or 0) if details else 0
            stats.accepted_tokens, stats.drafted_tokens = accepted, accepted + rejected
        return TextAnswer(file_from_answer(answer, original), answer, stats)
