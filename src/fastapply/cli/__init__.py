"""The fastapply command line: one module per command, registered here and nowhere else.

Built-in commands and third-party ones register the same way, by name -> "module:attribute"
(third parties through the "fastapply.commands" entry-point group, as backends do through
"fastapply.backends"). A command module imports only click at the top; its heavy imports
(models, torch, matplotlib) happen inside the command. Command docstrings are the --help text.
"""
from __future__ import annotations

import sys
from importlib import import_module
from importlib.metadata import entry_points

import click

from ..errors import FastApplyError

BUILTIN = {
    "apply": "fastapply.cli.apply:apply_cmd",
    "models": "fastapply.cli.models:models_cmd",
    "eval": "fastapply.cli.eval:eval_cmd",
    "bench": "fastapply.cli.bench:bench_cmd",
    "data": "fastapply.cli.data:data_group",
    "train": "fastapply.cli.train:train_cmd",
    "export": "fastapply.cli.export:export_cmd",
    "serve": "fastapply.cli.serve:serve_cmd",
    "mcp": "fastapply.cli.mcp:mcp_cmd",
}


@click.group()
@click.version_option(package_name="fastapply")
def cli() -> None:
    """Apply lazy code-edit snippets to files, fast and exactly."""


def _targets() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group="fastapply.commands"):
        found.setdefault(ep.name, ep.value)  # a plugin adds commands; it does not replace ours
    return found


def register(group: click.Group = cli) -> None:
    for name, target in _targets().items():
        module, _, attr = target.partition(":")
        group.add_command(getattr(import_module(module), attr), name)


register()


def main() -> None:
    """The ``fastapply`` command: every failure is one line on stderr and a documented exit
    code (docs/exit-codes.md), never a traceback (``FASTAPPLY_DEBUG=1`` shows them)."""
    import os

    debug = bool(os.environ.get("FASTAPPLY_DEBUG"))
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C (click turns KeyboardInterrupt into Abort)
        click.echo("fastapply: interrupted", err=True)
        code = 130
    except click.ClickException as exc:  # usage errors: click's own message, exit 2
        exc.show()
        code = exc.exit_code
    except FastApplyError as exc:  # an error a command did not report itself: one line, its exit code
        click.echo(f"fastapply: error: {exc}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("fastapply: interrupted", err=True)
        code = 130
    except OSError as exc:
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"fastapply: error: {where}{(exc.strerror or str(exc)).lower()}", err=True)
        code = 5
    except Exception as exc:  # a bug: still one line, and how to see the rest
        if debug:
            raise
        click.echo(f"fastapply: internal error: {type(exc).__name__}: {exc} (FASTAPPLY_DEBUG=1 shows the traceback)",
                   err=True)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
