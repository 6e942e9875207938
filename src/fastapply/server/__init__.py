"""fastapply's HTTP server (``fastapply serve``; the ``server`` extra).

    app.py          create_app(settings, server_settings): the routes, no module state
    schemas.py      request bodies (OpenAI chat, /v1/apply)
    applyprompt.py  recognise <instruction>/<code>/<update> in chat messages
    generation.py   plain chat completions with a per-request draft (prediction)
    worker.py       the one engine thread, admission (429/503) and cancellation
    guard.py        ASGI layer: bearer auth, 413 / 408 body limits, request metrics
    metrics.py      Prometheus metrics on a per-app registry
"""
from .app import create_app

__all__ = ["create_app"]
