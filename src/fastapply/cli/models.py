"""`fastapply models`: the embedded models and whether their packages are installed."""
from __future__ import annotations

import click

from .options import make_settings, settings_options


@click.command("models")
@settings_options
def models_cmd(**kw):
    """List the embedded models and whether their packages are installed."""
    from importlib.util import find_spec

    from ..models import MODELS

    settings = make_settings(kw)
    for spec in MODELS.values():
        installed = find_spec(spec.package.replace("-", "_")) is not None
        default = " (default)" if spec.name == settings.engine.model else ""
        click.echo(f"{spec.name:18} {'installed' if installed else 'missing  '}  {spec.description}{default}")
