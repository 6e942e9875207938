"""`fastapply apply`: one edit, from files to a printed, diffed or written file."""
from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from ..errors import FastApplyError, InputError
from ..guards import check_snippet
from ..textio import atomic_write, decode_text, read_source
from .options import make_settings, settings_options
from .progress import TokenMeter


@click.command("apply")
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
        from ..applier import Applier

        check_snippet(snippet)  # fail fast, before loading a model
        progress = TokenMeter()
        applier = Applier(settings)
        try:
            result = applier.apply(src.text, snippet, instruction, path=str(path),
                                   speculation=not no_speculation, on_step=progress)
        finally:
            progress.close()
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
