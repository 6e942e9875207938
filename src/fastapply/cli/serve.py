"""`fastapply serve`: the OpenAI-compatible HTTP server (needs the `server` extra)."""
from __future__ import annotations

import click
from pydantic import ValidationError

from ..errors import ConfigError
from ..settings import ENV_PREFIX, ServerSettings
from .options import make_settings, options_from, settings_options


@click.command("serve")
@options_from(dict(ServerSettings.model_fields), env_prefix=ENV_PREFIX)
@settings_options
def serve_cmd(**kw):
    """Serve applies over HTTP: OpenAI chat completions with predicted outputs, /v1/apply.

    POST /v1/chat/completions takes OpenAI's `prediction` as the speculative draft (the
    answer is the model's own greedy text, in fewer forward passes) and reports accepted
    and rejected prediction tokens in `usage`; model `auto` with an <code>/<update> prompt
    applies the edit as Morph and Relace do. POST /v1/apply takes {initialCode, editSnippet}.
    GET /health is 200 once the model is loaded; GET /metrics is for Prometheus.
    With --mode merge no model is loaded at all. See docs/server.md.
    """
    try:
        import uvicorn

        from ..server import create_app
    except ImportError as exc:
        raise ConfigError(f"fastapply serve needs the server extra ({exc}): pip install 'fastapply[server]'") from None
    server_names = set(ServerSettings.model_fields)
    given = {k: kw.pop(k) for k in list(kw) if k in server_names}
    try:
        server = ServerSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(f"invalid server settings: {exc}") from None
    settings = make_settings(kw)
    app = create_app(settings, server)
    click.echo(f"fastapply: serving on http://{server.host}:{server.port} (mode {settings.policy.mode}, "
               f"model {settings.engine.model}{', auth on' if server.auth_token else ''})", err=True)
    uvicorn.run(app, host=server.host, port=server.port, log_level="warning", timeout_keep_alive=5)
