"""The ``vllm.endpoint_plugins`` route: OpenAI predicted outputs on ``vllm serve``.

    VLLM_PLUGINS=fastapply vllm serve MODEL --per-request-spec-decode-metrics summary \\
        --speculative-config '{"method": "custom_class", "model": "fastapply.vllm.PredictionProposer", "num_speculative_tokens": 32}'

It replaces ``POST /v1/chat/completions`` with a thin wrapper around vLLM's own handler: a
``prediction`` is tokenized with the served model's tokenizer and passed on as
``vllm_xargs.prediction_token_ids`` (what ``PredictionProposer`` drafts from); the answer,
whole or streamed, gets ``usage.completion_tokens_details.accepted/rejected_prediction_tokens``
from vLLM's per-request spec-decode metrics (``accounting.py``). Everything else -- chat
templates, validation, streaming, errors -- is vLLM's, unchanged. Why a plugin inside vLLM
and not fastapply's server in front of it: docs/vllm.md.
"""
# No `from __future__ import annotations` here: FastAPI reads the route's `Request`
# annotation at runtime, from a class imported only inside vLLM's server.
import json

from .accounting import PredictionError, prediction_text, prediction_usage, with_prediction_ids


def _error(message: str, param: str, status: int = 400):
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                   "code": None}}, status_code=status)


async def _with_usage(stream):
    """Rewrite the stream's final usage chunk (the one that carries vLLM's metrics)."""
    async for event in stream:
        if isinstance(event, str) and event.startswith("data: {") and '"usage"' in event:
            payload = json.loads(event[len("data: "):])
            event = f"data: {json.dumps(prediction_usage(payload))}\n\n"
        yield event


class PredictedOutputsPlugin:
    """``EndpointPlugin``: name, required_tasks, attach_router, init_state."""

    name = "fastapply"
    required_tasks = ("generate",)

    def attach_router(self, app) -> None:
        from fastapi import Request

        async def chat_completions(raw_request: Request):
            return await self.chat_completions(raw_request)

        app.add_api_route("/v1/chat/completions", chat_completions, methods=["POST"])

    async def init_state(self, engine_client, state, args) -> None:
        """Nothing to set up: the route reads vLLM's own chat handler from the app state."""

    async def chat_completions(self, raw_request):
        from fastapi.responses import JSONResponse, StreamingResponse
        from pydantic import ValidationError
        from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest, ChatCompletionResponse

        handler = getattr(raw_request.app.state, "openai_serving_chat", None)
        if handler is None:
            return _error("The model does not support Chat Completions API", "model", 501)
        try:
            body = await raw_request.json()
        except ValueError:
            return _error("the body is not JSON", "body")
        if not isinstance(body, dict):
            return _error("the body must be a JSON object", "body")
        if body.get("prediction") is not None:
            try:
                text = prediction_text(body["prediction"])
            except PredictionError as exc:
                return _error(str(exc), "prediction")
            ids = handler.renderer.tokenizer.encode(text, add_special_tokens=False)
            body = with_prediction_ids(body, ids)
        else:
            body.pop("prediction", None)
        try:
            request = ChatCompletionRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            return _error(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", str(first["loc"][0]))
        generator = await handler.create_chat_completion(request, raw_request)
        if isinstance(generator, ChatCompletionResponse):
            return JSONResponse(prediction_usage(generator.model_dump()))
        if hasattr(generator, "error"):  # vLLM's ErrorResponse, passed through as vLLM sends it
            return JSONResponse(generator.model_dump(), status_code=generator.error.code)
        return StreamingResponse(_with_usage(generator), media_type="text/event-stream")
