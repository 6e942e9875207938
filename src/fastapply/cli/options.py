"""Click options made from pydantic fields: the models are the only place defaults live.

``options_from(fields)`` turns each field into one option (``a_b`` -> ``--a-b``; a bool is a
``--x/--no-x`` pair; a Literal is a choice). Every option defaults to None, meaning "not
given", so the model's own default (or, for settings, the environment) applies:

    @options_from(leaf_fields(), env_prefix="FASTAPPLY_", short={"model": "-m"})
    def cmd(**kw): settings = make_settings(kw)
"""
from __future__ import annotations

from typing import Literal, get_args, get_origin

import click
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from ..errors import ConfigError
from ..settings import ENV_PREFIX, Settings, describe_validation_error, field_type, leaf_fields


def options_from(fields: dict[str, FieldInfo], *, env_prefix: str | None = None, short: dict[str, str] | None = None):
    """A decorator adding one option per field, in field order."""
    short = short or {}

    def decorate(func):
        for name, field in reversed(list(fields.items())):
            flag = "--" + name.replace("_", "-")
            help_text = field.description or ""
            if env_prefix:
                help_text += f" [env: {env_prefix}{name.upper()}]"
            elif not field.is_required():
                help_text += f" [default: {field.get_default(call_default_factory=False)}]"
            if field.annotation is bool:
                opt = click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)
            else:
                kind = field_type(field.annotation)
                if get_origin(kind) is Literal:
                    kind = click.Choice(get_args(kind))
                decls = [flag, short[name]] if name in short else [flag]
                opt = click.option(*decls, name, type=kind, default=None, required=field.is_required(), help=help_text)
            func = opt(func)
        return func

    return decorate


settings_options = options_from(leaf_fields(), env_prefix=ENV_PREFIX, short={"model": "-m"})


def make_settings(kwargs: dict) -> Settings:
    """Settings from the options given (popped from ``kwargs``) over the environment's."""
    names = leaf_fields()
    given = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
