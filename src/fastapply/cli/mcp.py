"""`fastapply mcp`: an MCP server on stdio with an edit_file tool (needs the `server` extra)."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .options import make_settings, settings_options


@click.command("mcp")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".",
              show_default=True, help="Only files under this directory can be edited (symlinks out are refused).")
@settings_options
def mcp_cmd(root, **kw):
    """Run an MCP server on stdin/stdout with one tool, edit_file(path, instruction, code_edit).

    The tool applies the lazy edit like `fastapply apply --in-place` (same settings,
    guards and atomic write) and returns a unified diff and the decode statistics. Point
    an MCP client (Claude Code, Cline, Cursor) at `fastapply mcp --root PROJECT`.
    """
    try:
        from ..mcp_tool import build_server
    except ImportError as exc:
        raise ConfigError(f"fastapply mcp needs the server extra ({exc}): pip install 'fastapply[server]'") from None
    settings = make_settings(kw)
    try:
        server = build_server(root, settings)
    except ImportError as exc:
        raise ConfigError(f"fastapply mcp needs the mcp package ({exc}): pip install 'fastapply[server]'") from None
    server.run("stdio")
