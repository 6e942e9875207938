"""The ASGI layer in front of every route: bearer auth, body size and time, metrics.

Pure ASGI (not a Starlette BaseHTTPMiddleware) so that it sees the body as it arrives:
a body over ``max_body_bytes`` is refused with 413 as soon as it is over (a declared
Content-Length first, then the bytes counted, for chunked uploads), and a client that
stops sending for ``body_timeout`` seconds gets 408 -- a slow client cannot hold a
request slot forever. Errors are OpenAI-shaped JSON like every other error here.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import time

from starlette.exceptions import HTTPException

from .metrics import Metrics

OPEN_PATHS = ("/health",)  # load balancers probe it without credentials


class BodyError(HTTPException):
    """A body too large or too slow. An HTTPException, because FastAPI turns any other error
    raised while it reads a body into a generic 400."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(status, message)
        self.status, self.message, self.code = status, message, code


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


class Guard:
    def __init__(self, app, *, metrics: Metrics, auth_token: str | None, max_body_bytes: int,
                 body_timeout: float) -> None:
        self.app, self.metrics = app, metrics
        self.token = auth_token.encode() if auth_token else None
        self.max_body, self.body_timeout = max_body_bytes, body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, started, status = scope["path"], time.perf_counter(), [0]

        async def send_counted(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refuse_early(scope)
            if refusal:
                return await self._send_error(send_counted, *refusal)
            try:
                await self.app(scope, self._limited(receive), send_counted)
            except BodyError as exc:
                if status[0]:
                    raise  # a response already started: nothing clean left to send
                await self._send_error(send_counted, exc.status, exc.message, exc.code)
        finally:
            endpoint = path if path in ("/v1/chat/completions", "/v1/apply", "/v1/models", "/health",
                                        "/metrics") else "other"
            self.metrics.requests.labels(endpoint, str(status[0] or 499)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    def _refuse_early(self, scope) -> tuple[int, str, str] | None:
        headers = dict(scope["headers"])
        if self.token is not None and scope["path"] not in OPEN_PATHS:
            given = headers.get(b"authorization", b"")
            scheme, _, token = given.partition(b" ")
            # compare_digest: the time taken does not tell how much of a guess was right.
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.token):
                return 401, "missing or wrong API key (send 'Authorization: Bearer TOKEN')", "invalid_api_key"
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return 400, "Content-Length is not a number", "invalid_request"
            if int(length) > self.max_body:
                return 413, f"request body over {self.max_body} bytes", "request_too_large"
        return None

    def _limited(self, receive):
        seen, done = 0, False

        async def receive_limited():
            nonlocal seen, done
            if done:  # after the body: waiting for a disconnect may take as long as the answer
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except asyncio.TimeoutError:
                raise BodyError(408, f"the request body did not arrive within {self.body_timeout:g} s",
                                 "request_timeout") from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                done = not message.get("more_body", False)
                if seen > self.max_body:
                    raise BodyError(413, f"request body over {self.max_body} bytes", "request_too_large")
            return message

        return receive_limited

    @staticmethod
    async def _send_error(send, status: int, message: str, code: str) -> None:
        type_ = {401: "authentication_error", 413: "invalid_request_error", 408: "invalid_request_error"}
        body = error_body(message, type_.get(status, "invalid_request_error"), code)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
