"""The fastapply command line. Command docstrings are the --help text."""
from __future__ import annotations

import difflib
import json
import sys
import time
from pathlib import Path
from typing import Literal, get_args, get_origin

import click

from .errors import FastApplyError, InputError
from .settings import Settings, field_type
from .textio import atomic_write, decode_text, read_source


def settings_options(func):
    """Add one option per Settings field: the settings class is the only place defaults live."""
    for name, field in reversed(list(Settings.model_fields.items())):
        flag = "--" + name.replace("_", "-")
        if field.annotation is bool:
            decl = [f"{flag}/--no-{flag[2:]}"]
            opt = click.option(*decl, name, default=None, help=field.description)
        else:
            decl = [flag, "-m"] if name == "model" else [flag]
            kind = field_type(field.annotation)
            if get_origin(kind) is Literal:
                kind = click.Choice(get_args(kind))
            opt = click.option(*decl, name, type=kind, default=None,
                               help=f"{field.description} [env: FASTAPPLY_{name.upper()}]")
        func = opt(func)
    return func


def make_settings(kwargs: dict) -> Settings:
    given = {k: kwargs.pop(k) for k in list(kwargs) if k in Settings.model_fields}
    return Settings(**{k: v for k, v in given.items() if v is not None})


class Progress:
    """Live tokens/s on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.last = 0.0

    def __call__(self, new_tokens, stats) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        sys.stderr.write(
            f"\r\033[K  {stats.output_tokens} tokens  {stats.tokens_per_second:6.1f} tok/s  "
            f"{stats.tokens_per_pass:4.1f} tok/pass"
        )
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@click.group()
@click.version_option(package_name="fastapply")
def cli() -> None:
    """Apply lazy code-edit snippets to files, fast and exactly."""


@cli.command("apply")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--snippet", "-s", "snippet_path", required=True,
              help="File holding the edit snippet, or - for standard input.")
@click.option("--instruction", "-i", default=None, help="What the edit does, in words (optional).")
@click.option("--no-speculation", is_flag=True, help="Plain greedy decoding (same output, slower).")
@click.option("--in-place", is_flag=True, help="Rewrite PATH (atomically).")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff instead of the file.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the updated file here.")
@click.option("--stats-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write decoding statistics as JSON to this file.")
@settings_options
def apply_cmd(path, snippet_path, instruction, no_speculation, in_place, show_diff, output, stats_json, **kw):
    """Apply the edit SNIPPET to the file PATH and print the updated file.

    The snippet is what coding models write: the changed code, with unchanged parts
    elided by lines like `// ... existing code ...`. The model rewrites the whole file;
    speculative edits copy the unchanged parts in large verified chunks, so the result is
    exactly what plain greedy decoding would give, only faster.

    Nothing is written unless the result is complete: a failed apply leaves PATH as it was.
    """
    if sum([in_place, show_diff, output is not None]) > 1:
        raise click.UsageError("choose at most one of --in-place, --diff, -o")
    settings = make_settings(kw)
    try:
        src = read_source(path)
        raw = sys.stdin.buffer.read() if snippet_path == "-" else _read_bytes(snippet_path)
        snippet = decode_text(raw, name="snippet").text
        from .applier import Applier, check_snippet

        check_snippet(snippet)  # fail fast, before loading a model
        progress = Progress()
        applier = Applier(settings)
        try:
            result = applier.apply(src.text, snippet, instruction, path=str(path),
                                   speculation=not no_speculation, on_step=progress)
        finally:
            progress.done()
    except FastApplyError as exc:
        click.echo(f"fastapply: error: {exc}", err=True)
        sys.exit(exc.exit_code)

    new_text = src.restore(result.text)
    if stats_json:
        stats_json.write_text(json.dumps({"model": result.model, "source": result.source,
                                          "speculation": not no_speculation, "notes": result.notes,
                                          **result.stats.as_dict()}, indent=2) + "\n")
    if in_place:
        atomic_write(path, new_text)
    elif output is not None:
        atomic_write(output, new_text)
    elif show_diff:
        old = src.restore(src.text)
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new_text.splitlines(True),
                                                   f"a/{path}", f"b/{path}"))
    else:
        sys.stdout.write(new_text)
    s = result.stats
    if result.source != "model":
        note = f" ({result.notes[0]})" if result.source in ("merge-fallback", "merge-confident") else ""
        click.echo(f"fastapply: written by the deterministic merge{note}", err=True)
    if s.output_tokens:
        click.echo(
            f"fastapply: {s.output_tokens} tokens in {s.prefill_seconds + s.decode_seconds:.2f}s "
            f"({s.tokens_per_second:.0f} tok/s, {s.tokens_per_pass:.1f} tok/pass, "
            f"{s.accepted_tokens}/{s.drafted_tokens} draft tokens accepted)",
            err=True,
        )


def _read_bytes(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"snippet file {p}: no such file")
    return p.read_bytes()


@cli.command("models")
@settings_options
def models_cmd(**kw):
    """List the embedded models and whether their packages are installed."""
    from importlib.util import find_spec

    from .models import MODELS

    settings = make_settings(kw)
    for spec in MODELS.values():
        installed = find_spec(spec.package.replace("-", "_")) is not None
        default = " (default)" if spec.name == settings.model else ""
        click.echo(f"{spec.name:18} {'installed' if installed else 'missing  '}  {spec.description}{default}")


from .evals.cli import eval_cmd  # noqa: E402  (the command imports this module's settings_options)
cli.add_command(eval_cmd)


@cli.command("bench")
@click.option("--tasks", "n_tasks", default=20, show_default=True, help="Number of benchmark edits.")
@click.option("--max-tokens", default=256, show_default=True, help="Cap on answer tokens per task.")
@click.option("--min-lines", default=100, show_default=True)
@click.option("--max-lines", default=400, show_default=True)
@click.option("--language", default="python", show_default=True)
@click.option("--peer/--no-peer", default=True, help="Also time llama-cpp-python's LlamaPromptLookupDecoding.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write per-task rows and the summary as JSON.")
@settings_options
def bench_cmd(n_tasks, max_tokens, min_lines, max_lines, language, peer, json_path, **kw):
    """Time plain greedy vs speculative edits vs prompt lookup on real edits, side by side.

    Tasks are real edits of 100-400-line files from the public benchmark set (built on
    first use from package release pairs into the cache). Prints per task and in total:
    seconds for each method, speedups, tokens per forward pass, identity with greedy, the
    engine's prefill throughput and apply throughput as a fraction of it, and the cost of
    verifying k draft tokens.
    """
    from dataclasses import asdict

    from .applier import Applier
    from .bench import load_peer, run_bench, summarize, verify_cost_curve
    from .evals.dataset import load_tasks
    from .models import resolve

    settings = make_settings(kw)
    tasks = load_tasks(languages=[language], min_lines=min_lines, max_lines=max_lines, limit=n_tasks,
                       progress=lambda m: click.echo(m, err=True))
    applier = Applier(settings)
    prompts = [applier.prompt_tokens(t.original, t.snippet, t.instruction) for t in tasks]
    need = max(map(len, prompts)) + max_tokens + 64  # + the peer's last draft
    llm = load_peer(str(resolve(settings.model, settings.cache_dir)[0]), min(need, applier.engine.n_ctx),
                    settings.threads) if peer else None
    click.echo(f"model {settings.model}, {settings.threads} threads, exact={settings.exact}, "
               f"{len(tasks)} {language} tasks, answers capped at {max_tokens} tokens")
    head = f"{'task':40} {'lines':>5} {'tok':>4} {'prefill':>7} {'plain':>6} {'spec':>6} {'x':>5} {'xdec':>5} " \
           f"{'t/pass':>6} {'same':>4} {'peer':>6} {'x/peer':>6} {'oracle':>6} {'xdec':>5}"
    click.echo(head)

    def show(r):
        peer_cols = f"{r.peer_s:6.1f} {r.speedup_vs_peer:6.2f}" if r.peer_s else f"{'-':>6} {'-':>6}"
        click.echo(f"{r.id[-40:]:40} {r.lines:5} {r.output_tokens:4} {r.prefill_s:7.1f} {r.plain_s:6.1f} "
                   f"{r.spec_s:6.1f} {r.speedup:5.2f} {r.decode_speedup:5.2f} {r.spec_tokens_per_pass:6.2f} "
                   f"{'yes' if r.identical else 'NO':>4} {peer_cols} {r.oracle_s:6.1f} {r.oracle_decode_speedup:5.2f}")

    rows, skipped = run_bench(applier, tasks, prompts, max_tokens=max_tokens, peer=llm, on_task=show)
    for line in skipped:
        click.echo(f"skipped {line}", err=True)
    if not rows:
        raise click.ClickException("no task fits the model's context")
    summary = summarize(rows)
    curve = verify_cost_curve(applier.engine, prompts[0][:1024])
    summary["verify_ms_by_k_at_1024"] = curve
    click.echo("")
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:.3f}"
        elif isinstance(value, dict):
            value = " ".join(f"{k}:{v:.0f}" for k, v in value.items())
        click.echo(f"{key:34} {value}")
    if json_path:
        json_path.write_text(json.dumps({"settings": settings.model_dump(), "summary": summary,
                                         "tasks": [asdict(r) for r in rows], "skipped": skipped}, indent=2) + "\n")


def _register_pipeline() -> None:
    """The model pipeline's commands; their heavy imports happen inside each command."""
    from .train.cli import train_cmd
    from .train.data_cli import data_group
    from .train.export import export_cmd

    cli.add_command(data_group)
    cli.add_command(train_cmd)
    cli.add_command(export_cmd)


_register_pipeline()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
