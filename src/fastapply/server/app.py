"""The HTTP server: ``create_app(settings, server_settings)`` builds it; no module state.

Endpoints (docs/server.md has examples of each):

- ``POST /v1/chat/completions``, two ways by ``model``:
  - ``auto`` / ``fastapply`` with an apply prompt (``<code>`` and ``<update>`` in the last
    user message, as Morph and Relace clients send): an apply under the server's policy
    (``fastapply-model`` / ``fastapply-merge``: in that mode), answered with the merged
    file as the message content.
  - the served model's name: a plain greedy chat completion, with ``prediction`` as the
    speculative draft (``generation.py``).
- ``POST /v1/apply``: ``{initialCode, editSnippet, instruction?, stream?}`` ->
  ``{mergedCode, usage, source, confidence, notes}``.
- ``GET /v1/models``, ``GET /health`` (200 once the model is loaded), ``GET /metrics``.

Usage, the same on every path: ``prompt_tokens_details.cached_tokens`` are prompt tokens
reused from the KV cache; ``completion_tokens_details.accepted_prediction_tokens`` are draft
tokens the model verified and kept, ``rejected_prediction_tokens`` draft tokens verified in
a forward pass and thrown away (compute spent for nothing, as OpenAI bills them). Drafts
come from the prediction and, for an apply, the file, the snippet and the merge.

Errors are OpenAI-shaped: ``{"error": {"message", "type", "param", "code"}}``.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from .. import guards, prompt
from ..applier import Applier, ApplyResult
from ..backends import get_engine_class
from ..errors import ContextTooLong, FastApplyError, InputError, OutputRejected
from ..settings import ServerSettings, Settings
from ..speculative import DecodeStats
from ..textio import decode_text
from . import applyprompt
from .generation import Completion, TextStream, complete
from .guard import Guard, error_body
from .metrics import CONTENT_TYPE, Metrics
from .schemas import ApplyRequest, ChatRequest, text_of, unsupported
from .worker import Busy, Cancelled, EngineWorker, NotReady

# Model names that apply an edit, and the mode each asks for (None: the server's --mode).
APPLY_MODELS = {"auto": None, "fastapply": None, "fastapply-model": "model", "fastapply-merge": "merge"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers = headers or {}


def _json_error(exc: ApiError) -> Response:
    return Response(error_body(exc.message, exc.type, exc.code, exc.param), exc.status, exc.headers,
                    media_type="application/json")


def usage(stats: DecodeStats) -> dict:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.output_tokens,
        "total_tokens": stats.prompt_tokens + stats.output_tokens,
        "prompt_tokens_details": {"cached_tokens": stats.cached_prompt_tokens},
        "completion_tokens_details": {
            "accepted_prediction_tokens": stats.accepted_tokens,
            "rejected_prediction_tokens": stats.drafted_tokens - stats.accepted_tokens,
            "reasoning_tokens": 0,
        },
    }


def _speculation(stats: DecodeStats) -> dict:
    return {"forward_passes": stats.forward_passes, "drafted_tokens": stats.drafted_tokens,
            "accepted_tokens": stats.accepted_tokens, "tokens_per_pass": round(stats.tokens_per_pass, 3),
            "prefill_seconds": round(stats.prefill_seconds, 4), "decode_seconds": round(stats.decode_seconds, 4)}


def _sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def _error_of(exc: BaseException) -> ApiError:
    """A job's exception as the API error it is answered with."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ContextTooLong):
        return ApiError(400, str(exc), code="context_length_exceeded")
    if isinstance(exc, OutputRejected):
        return ApiError(422, str(exc), type_="apply_refused", code=exc.kind or "refused")
    if isinstance(exc, InputError):
        return ApiError(400, str(exc), code="invalid_input")
    if isinstance(exc, Cancelled):
        return ApiError(499, "the client closed the request", code="cancelled")
    if isinstance(exc, FastApplyError):
        return ApiError(500, str(exc), type_="server_error")
    return ApiError(500, f"internal error: {type(exc).__name__}: {exc}", type_="server_error")


def create_app(settings: Settings | None = None, server: ServerSettings | None = None, *,
               applier: Applier | None = None) -> FastAPI:
    """The server for these settings. ``applier`` overrides the one built from ``settings``
    (a test's engine); its model loads on the worker thread once the app starts."""
    settings = settings or Settings()
    server = server or ServerSettings()
    applier = applier or Applier(settings)
    needs_model = settings.policy.mode != "merge"
    remote = getattr(get_engine_class(settings.engine.backend), "text_level", False) if needs_model else False
    worker = EngineWorker(lambda: applier.engine, queue_size=server.queue_size, needs_model=needs_model,
                          serial=not remote)
    metrics = Metrics()
    served = server.served_name or Path(settings.engine.model).name
    retry = {"Retry-After": str(server.retry_after)}

    @asynccontextmanager
    async def lifespan(_app):
        worker.start()
        yield
        worker.close()

    app = FastAPI(title="fastapply", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.worker, app.state.metrics, app.state.applier = worker, metrics, applier
    token = server.auth_token.get_secret_value() if server.auth_token else None
    app.add_middleware(Guard, metrics=metrics, auth_token=token, max_body_bytes=server.max_body_bytes,
                       body_timeout=server.body_timeout)

    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):
        return _json_error(exc)

    @app.exception_handler(FastApplyError)
    async def _apply_error(_request, exc: FastApplyError):
        return _json_error(_error_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        if first.get("type") == "json_invalid":
            return _json_error(ApiError(400, "the body is not valid JSON", code="invalid_json"))
        if where is None and first.get("type") in ("model_attributes_type", "missing"):
            return _json_error(ApiError(400, "the body must be a JSON object (Content-Type: application/json)",
                                        code="invalid_json"))
        message = f"{where or 'body'}: {first.get('msg', 'invalid request')}"
        if first.get("type") == "extra_forbidden":
            message = f"Unrecognized request argument supplied: {where}"
        return _json_error(ApiError(400, message, param=where, code=first.get("type")))

    @app.exception_handler(HTTPException)
    async def _http(_request, exc: HTTPException):
        code = getattr(exc, "code", None) or {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return _json_error(ApiError(exc.status_code, str(exc.detail), code=code))

    # --- admission and running ---------------------------------------------------------
    def admit(model: bool) -> None:
        try:
            worker.admit(model=model)
        except Busy as exc:
            raise ApiError(429, f"the server is busy: {exc}", type_="rate_limit_error", code="queue_full",
                           headers=retry) from None
        except NotReady as exc:
            code = "model_loading" if worker.state == "loading" else "model_failed"
            raise ApiError(503, f"the model is not ready: {exc}", type_="server_error", code=code,
                           headers=retry) from None
        metrics.admitted.set(worker.admitted)

    async def run_blocking(request: Request, job, model: bool):
        """Run an admitted job; a client that disconnects meanwhile cancels it."""
        cancel = threading.Event()
        task = asyncio.ensure_future(worker.run(lambda c: job(c, None), cancel, model=model))
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=0.25)
                if not task.done() and await request.is_disconnected():
                    cancel.set()  # acted on after the current forward pass
            return task.result()
        except Exception as exc:
            if isinstance(exc, Cancelled):
                metrics.cancelled.inc()
            raise _error_of(exc) from None
        finally:
            metrics.admitted.set(worker.admitted)

    def run_streaming(job, model: bool, piece_event, final_events, first_event=None):
        """SSE from an admitted job: ``first_event`` at once, ``piece_event(text)`` per
        verified run, then ``final_events(result)``; an error after the stream began is
        sent as an error event (the status line is long gone)."""
        cancel = threading.Event()
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def emit(piece: str) -> None:  # called on the worker thread
            loop.call_soon_threadsafe(queue.put_nowait, piece)

        def finished(t: asyncio.Task) -> None:
            queue.put_nowait(None)
            if not t.cancelled() and isinstance(t.exception(), Cancelled):  # retrieved: nothing logged
                metrics.cancelled.inc()

        task = asyncio.ensure_future(worker.run(lambda c: job(c, emit), cancel, model=model))
        task.add_done_callback(finished)

        async def events():
            try:
                if first_event is not None:
                    yield _sse(first_event)
                while (piece := await queue.get()) is not None:
                    yield _sse(piece_event(piece))
                try:
                    for event in final_events(task.result()):
                        yield _sse(event)
                except Exception as exc:
                    err = _error_of(exc)
                    yield _sse({"error": {"message": err.message, "type": err.type, "code": err.code}})
                yield _sse("[DONE]")
            finally:
                cancel.set()  # the client left mid-stream: stop after the current forward pass
                metrics.admitted.set(worker.admitted)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    # --- the apply path ----------------------------------------------------------------
    def apply_job(original: str, snippet: str, instruction: str | None, path: str | None, mode: str):
        guards.check_inputs(original, snippet, instruction)  # before encoding: lone surrogates
        src = decode_text(original.encode("utf-8"), name="initialCode")

        def job(cancel: threading.Event, emit):
            stream: dict = {}

            def on_step(new, stats):
                if cancel.is_set():
                    raise Cancelled()
                if emit is None:
                    return
                # Each window of a windowed rewrite is a generation of its own (a new stats
                # object). Only the first generation is streamed; when the stitched file does
                # not continue what was sent, the stream ends in `stream_superseded`.
                if stream.setdefault("stats", stats) is not stats:
                    return
                if "text" not in stream:
                    engine = applier.engine
                    stream["text"] = TextStream(engine.detokenize, stops=[prompt.CLOSE_TAG], eos=engine.eos_tokens,
                                                hold=len(prompt.CLOSE_TAG) + 1)
                if piece := stream["text"].push(new):
                    emit(_restore_piece(src, piece, first=not stream.setdefault("sent", False)))
                    stream["sent"] = True

            result = applier.apply(src.text, snippet, instruction, path=path, mode=mode, on_step=on_step)
            rest = stream["text"].finish(result.text) if "text" in stream else result.text
            return result, src, rest

        return job

    def apply_payload(result: ApplyResult, src) -> dict:
        metrics.count_tokens(result.stats)
        metrics.applies.labels(result.source).inc()
        return {"mergedCode": src.restore(result.text), "source": result.source, "confidence": result.confidence,
                "notes": result.notes, "usage": usage(result.stats), "speculation": _speculation(result.stats)}

    def resolve_mode(mode: str | None) -> tuple[str, bool]:
        mode = mode or settings.policy.mode
        if mode != "merge" and not needs_model:
            raise ApiError(400, f"mode {mode!r} needs a model, and this server runs --mode merge without one",
                           param="mode", code="model_not_available")
        return mode, mode != "merge"

    async def run_apply(request: Request, req: ApplyRequest | applyprompt.ApplyPrompt, *, stream: bool,
                        chat: dict | None = None, mode: str | None = None):
        mode, model = resolve_mode(getattr(req, "mode", None) or mode)
        if isinstance(req, ApplyRequest):
            job = apply_job(req.initialCode, req.editSnippet, req.instruction, req.path, mode)
        else:
            job = apply_job(req.original, req.snippet, req.instruction, None, mode)
        admit(model)
        if not stream:
            result, src, _ = await run_blocking(request, job, model)
            payload = apply_payload(result, src)
            return payload if chat is None else _chat_body(chat, payload["mergedCode"], "stop", payload)
        if chat is None:
            return run_streaming(job, model, lambda piece: {"mergedCode": piece},
                                 lambda out: _apply_final(out, apply_payload))
        return run_streaming(job, model, lambda piece: _chunk(chat, {"content": piece}),
                             lambda out: _chat_apply_final(chat, out, apply_payload),
                             _chunk(chat, {"role": "assistant", "content": ""}))

    # --- routes ------------------------------------------------------------------------
    @app.get("/health")
    async def health():
        body = {"status": "ok" if worker.state == "ready" else worker.state, "model": served,
                "mode": settings.policy.mode, "admitted": worker.admitted}
        if worker.error:
            body["error"] = worker.error
        metrics.ready.set(1 if worker.state == "ready" else 0)
        return JSONResponse(body, 200 if worker.state == "ready" else 503,
                            headers=None if worker.state == "ready" else retry)

    @app.get("/metrics")
    async def prometheus():
        metrics.ready.set(1 if worker.state == "ready" else 0)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/v1/models")
    async def models():
        names = [*APPLY_MODELS, served] if needs_model else ["auto", "fastapply", "fastapply-merge"]
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fastapply"}
                                           for n in names]}

    @app.post("/v1/apply")
    async def apply_endpoint(req: ApplyRequest, request: Request):
        return await run_apply(request, req, stream=req.stream)

    @app.post("/v1/chat/completions")
    async def chat_completions(req: ChatRequest, request: Request):
        refused = unsupported(req)
        if refused:
            raise ApiError(400, refused[1], param=refused[0], code="unsupported_parameter")
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": text_of(m.content)}
                    for m in req.messages]
        parsed = applyprompt.parse(messages)
        chat = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": req.model,
                "include_usage": bool(req.stream_options and req.stream_options.include_usage)}
        if req.model in APPLY_MODELS:
            if parsed is None:
                raise ApiError(400, f"model {req.model!r} applies an edit: the last user message needs the file "
                               "in <code>...</code> and the edit in <update>...</update>", param="messages")
            return await run_apply(request, parsed, stream=req.stream, chat=chat, mode=APPLY_MODELS[req.model])
        if req.model != served:
            raise ApiError(404, f"the model {req.model!r} does not exist here; use {served!r} or 'auto'",
                           param="model", code="model_not_found")
        if not needs_model:
            raise ApiError(400, "this server runs --mode merge without a model: use model 'auto' with an "
                           "apply prompt", param="model", code="model_not_available")
        if worker.state == "ready" and getattr(applier.engine, "text_level", False):
            raise ApiError(400, "this server applies through an upstream (--backend openai): send plain "
                           "completions to the upstream itself", param="model", code="model_not_available")
        # temperature: accepted and decoded greedily (docs/server.md, "Sampling"); the
        # engine exposes greedy choices only, and greedy is what makes drafts lossless.
        prediction = text_of(req.prediction.content) if req.prediction else None
        sources = (parsed.original, parsed.snippet) if parsed else None

        def job(cancel, emit) -> Completion:
            return complete(applier.engine, settings.speculative, messages, prediction=prediction,
                            apply_sources=sources, max_tokens=req.token_limit(), stops=req.stops(),
                            cancel=cancel, on_text=emit)

        admit(True)
        if not req.stream:
            done = await run_blocking(request, job, True)
            metrics.count_tokens(done.stats)
            return _chat_body(chat, done.text, done.finish_reason, {"usage": usage(done.stats),
                                                                    "speculation": _speculation(done.stats)})

        def final(done: Completion):
            metrics.count_tokens(done.stats)
            yield _chunk(chat, {}, done.finish_reason)
            if chat["include_usage"]:
                yield {**_chunk(chat, None), "usage": usage(done.stats), "speculation": _speculation(done.stats)}

        return run_streaming(job, True, lambda piece: _chunk(chat, {"content": piece}), final,
                             _chunk(chat, {"role": "assistant", "content": ""}))

    return app


# --- response shapes (pure) ------------------------------------------------------------------
def _restore_piece(src, piece: str, *, first: bool) -> str:
    """A streamed piece in the file's own conventions, as ``SourceText.restore`` does the whole."""
    piece = piece.replace("\n", src.newline) if src.newline != "\n" else piece
    return ("\ufeff" if first and src.bom else "") + piece


def _chat_body(chat: dict, content: str, finish: str, payload: dict) -> dict:
    body = {"id": chat["id"], "object": "chat.completion", "created": chat["created"], "model": chat["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish, "logprobs": None}],
            "usage": payload["usage"], "system_fingerprint": "fastapply-0.1.0",
            "speculation": payload["speculation"]}
    if "source" in payload:
        body["fastapply"] = {k: payload[k] for k in ("source", "confidence", "notes")}
    return body


def _chunk(chat: dict, delta: dict | None, finish: str | None = None) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    return {"id": chat["id"], "object": "chat.completion.chunk", "created": chat["created"], "model": chat["model"],
            "choices": choices, "system_fingerprint": "fastapply-0.1.0"}


def _streamed_rest(out) -> str:
    result, src, rest = out
    if rest is None:
        # Text already sent cannot be taken back: the file came from somewhere else (the merge
        # stood in for a refused answer, or windows were stitched). Say so; never send a mix.
        raise ApiError(409, f"the streamed text was superseded ({result.source}); repeat the request "
                       "without stream", code="stream_superseded")
    return rest


def _apply_final(out, apply_payload):
    result, src, _ = out
    rest = _streamed_rest(out)
    payload = apply_payload(result, src)
    if rest:
        yield {"mergedCode": _restore_piece(src, rest, first=rest == result.text)}
    yield {**payload, "mergedCode": None, "done": True}


def _chat_apply_final(chat: dict, out, apply_payload):
    result, src, _ = out
    rest = _streamed_rest(out)
    payload = apply_payload(result, src)
    if rest:
        yield _chunk(chat, {"content": _restore_piece(src, rest, first=rest == result.text)})
    yield _chunk(chat, {}, "stop")
    if chat["include_usage"]:
        yield {**_chunk(chat, None), "usage": payload["usage"], "speculation": payload["speculation"],
               "fastapply": {k: payload[k] for k in ("source", "confidence", "notes")}}
