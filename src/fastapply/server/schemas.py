"""Request bodies of the server's endpoints, validated by pydantic.

``ChatRequest`` names every parameter OpenAI's Chat Completions accepts, so an unknown one
is a clear 400 (as OpenAI answers "Unrecognized request argument") instead of being
silently dropped; the ones fastapply cannot honour are refused in ``unsupported`` with
the parameter named. ``ApplyRequest`` is the Relace-style REST body.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")  # image parts etc. are refused by type below

    type: str
    text: str | None = None


def text_of(content: str | list[TextPart] | None) -> str:
    """The text of a message or prediction content: a string, or its text parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text or "" for p in content)


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # tool_calls, refusal, ... on assistant turns

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None


class Prediction(_Strict):
    type: Literal["content"]
    content: str | list[TextPart]


class StreamOptions(_Strict):
    include_usage: bool = False
    include_obfuscation: bool | None = None


class ChatRequest(_Strict):
    model: str
    messages: list[Message] = Field(min_length=1)
    prediction: Prediction | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: int | None = Field(None, ge=1)
    seed: int | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    # Accepted so that OpenAI clients can send them, refused in `unsupported` unless neutral:
    tools: list[Any] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    functions: list[Any] | None = None
    function_call: Any = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: dict[str, Any] | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    service_tier: str | None = None

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [s for s in ([self.stop] if isinstance(self.stop, str) else self.stop) if s]

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


def unsupported(req: ChatRequest) -> tuple[str, str] | None:
    """(parameter, message) for the first parameter this server refuses, else None.

    The list is what OpenAI refuses together with ``prediction`` (n > 1, tools, logprobs,
    penalties, audio) -- refused here with or without one, since decoding is always a single
    greedy sequence -- plus what greedy decoding cannot honour (logit_bias, JSON modes).
    """
    if req.n is not None and req.n > 1:
        return "n", "n > 1 is not supported: the server decodes one greedy sequence per request"
    if req.tools or req.functions or req.tool_choice not in (None, "none"):
        return "tools", "tools and function calling are not supported"
    if req.logprobs or req.top_logprobs:
        return "logprobs", "logprobs are not supported"
    for name in ("presence_penalty", "frequency_penalty"):
        if getattr(req, name):
            return name, f"{name} must be 0: decoding is greedy"
    if req.logit_bias:
        return "logit_bias", "logit_bias is not supported"
    if req.modalities and set(req.modalities) != {"text"} or req.audio:
        return "modalities", "only text output is supported"
    if req.response_format and req.response_format.get("type") not in (None, "text"):
        return "response_format", "only response_format text is supported"
    if len(req.stops()) > 4:
        return "stop", "at most 4 stop sequences"
    for i, m in enumerate(req.messages):
        if isinstance(m.content, list) and any(p.type != "text" for p in m.content):
            return f"messages[{i}].content", "only text content parts are supported"
    if req.prediction is not None and isinstance(req.prediction.content, list) and \
            any(p.type != "text" for p in req.prediction.content):
        return "prediction.content", "only text content parts are supported"
    return None


class ApplyRequest(_Strict):
    """``POST /v1/apply`` (Relace's older REST shape, plus fastapply's own options)."""

    initialCode: str
    editSnippet: str
    instruction: str | None = None
    stream: bool = False
    mode: Literal["auto", "model", "merge"] | None = None  # default: the server's --mode
    path: str | None = None  # a file name, only to tell the merge the language
