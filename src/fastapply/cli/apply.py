"""`fastapply apply`: one edit, from files to a printed, diffed or written file.

The order is what keeps files safe: every path is checked first (inputs are regular files,
outputs are distinct from the inputs and from each other, by inode), then the edit is
computed (in a worker thread, so Ctrl-C acts at once and exits 130 with nothing written),
then the result is written (``writing.write_file``: atomic, metadata kept, compare-and-swap
against the file as read), and the statistics last, so a stats failure never loses the
result. Every error is one line on stderr and an exit code (docs/exit-codes.md).
"""
from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import click

from ..errors import ConfigError, FastApplyError, InputError, Interrupted, WriteError
from .options import make_settings, settings_options
from .progress import TokenMeter


@click.command("apply")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--snippet", "-s", "snippet_path", required=True,
              help="File holding the edit snippet, or - for standard input.")
@click.option("--instruction", "-i", default=None, help="What the edit does, in words (optional).")
@click.option("--no-speculation", is_flag=True, help="Plain greedy decoding (same output, slower).")
@click.option("--in-place", is_flag=True, help="Rewrite PATH (atomically; refused if PATH changed meanwhile).")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff instead of the file.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the updated file here.")
@click.option("--stats-json", type=click.Path(path_type=Path), default=None,
              help="Write decoding statistics as JSON to this file (after the result).")
@click.option("--force", is_flag=True,
              help="Write a read-only file, or a hard-linked one (rewritten in place so every name sees the edit).")
@settings_options
def apply_cmd(path, snippet_path, instruction, no_speculation, in_place, show_diff, output, stats_json, force, **kw):
    """Apply the edit SNIPPET to the file PATH and print the updated file.

    The snippet is what coding models write: the changed code, with unchanged parts
    elided by lines like `// ... existing code ...`. The model rewrites the whole file;
    speculative edits copy the unchanged parts in large verified chunks, so the result is
    exactly what plain greedy decoding would give, only faster.

    Nothing is written unless the result is complete: a failed apply leaves PATH as it was.
    Exit codes: 2 settings, 3 input, 4 refused, 5 write, 6 PATH changed meanwhile, 130 Ctrl-C.
    """
    if sum([in_place, show_diff, output is not None]) > 1:
        raise click.UsageError("choose at most one of --in-place, --diff, -o")
    try:
        _apply(path, snippet_path, instruction, no_speculation, in_place, show_diff, output, stats_json, force, kw)
    except Interrupted as exc:
        click.echo(f"fastapply: {exc}", err=True)
        sys.stderr.flush()
        os._exit(exc.exit_code)  # the worker thread may be inside the model: do not wait for it
    except FastApplyError as exc:
        click.echo(f"fastapply: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # anything not classified closer to where it happened
        click.echo(f"fastapply: error: {exc.filename or ''}{': ' if exc.filename else ''}"
                   f"{(exc.strerror or str(exc)).lower()}", err=True)
        sys.exit(WriteError.exit_code)


def _apply(path, snippet_path, instruction, no_speculation, in_place, show_diff, output, stats_json, force, kw):
    from .. import textio, writing

    settings = make_settings(kw)
    limit = settings.policy.max_input_bytes
    _check_distinct(path, snippet_path, output, stats_json, in_place)
    for target in (output, stats_json):
        if target is not None:
            _preflight(target, force=force)
    src = textio.read_source(path, limit=limit)
    if snippet_path == "-":
        if sys.stdin.isatty():
            click.echo("fastapply: reading the snippet from the terminal; end it with Ctrl-D", err=True)
        try:
            raw = writing.read_stream(sys.stdin.fileno(), what="the snippet (standard input)", limit=limit)
        except (AttributeError, ValueError, OSError):  # no real descriptor (a test runner's stdin)
            raw = sys.stdin.buffer.read(limit + 1)
            if len(raw) > limit:
                raise InputError(f"the snippet (standard input) holds more than the limit of {limit} bytes "
                                 "(--max-input-bytes)") from None
    else:
        raw, _ = writing.read_regular(snippet_path, what="snippet file", limit=limit)
    snippet = textio.decode_text(raw, name="snippet").text

    from ..applier import Applier
    from ..guards import check_original, check_snippet

    check_snippet(snippet)  # fail fast, before loading a model
    check_original(src.text)
    progress = TokenMeter()
    applier = Applier(settings)
    try:
        result = _interruptible(lambda: applier.apply(src.text, snippet, instruction, path=str(path),
                                                      speculation=not no_speculation, on_step=progress))
    finally:
        progress.close()

    new_text = src.restore(result.text)
    old_text = src.restore(src.text)
    if in_place:
        if new_text != old_text:  # an apply that changes nothing leaves the file (and its mtime) alone
            textio.atomic_write(path, new_text, expected=src.snapshot, force=force)
    elif output is not None:
        textio.atomic_write(output, new_text, force=force)
    elif show_diff:
        _stdout(textio.encode(textio.unified_diff(old_text, new_text, f"a/{path}", f"b/{path}")))
    else:
        _stdout(textio.encode(new_text))
    _report(result)
    if stats_json:
        stats = {"model": result.model, "source": result.source, "speculation": not no_speculation,
                 "confidence": result.confidence, "notes": result.notes, **result.stats.as_dict()}
        try:
            textio.atomic_write(stats_json, json.dumps(stats, indent=2) + "\n", force=force)
        except FastApplyError as exc:
            raise WriteError(f"the result was written, but not the statistics: {exc}") from None


def _interruptible(work):
    """Run work() in a thread; Ctrl-C in the main thread acts within 0.1 s (a model's forward
    pass is a C call that Python cannot interrupt) and raises Interrupted."""
    box: dict = {}

    def run():
        try:
            box["result"] = work()
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="fastapply-apply", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        raise Interrupted("interrupted; nothing was written") from None
    if "error" in box:
        raise box["error"]
    return box["result"]


def _stdout(data: bytes) -> None:
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stdout (some test runners)
        sys.stdout.write(data.decode("utf-8"))
        return
    sys.stdout.flush()
    out.write(data)
    out.flush()


def _report(result) -> None:
    """Who wrote the file, and every doubt the merge had, on stderr."""
    s = result.stats
    if result.source != "model":
        conf = f" (confidence {result.confidence:.2f})" if result.confidence is not None else ""
        click.echo(f"fastapply: written by the deterministic merge{conf}", err=True)
        for note in result.notes:
            click.echo(f"fastapply: note: {note}", err=True)
    if s.output_tokens:
        click.echo(
            f"fastapply: {s.output_tokens} tokens in {s.prefill_seconds + s.decode_seconds:.2f}s "
            f"({s.tokens_per_second:.0f} tok/s, {s.tokens_per_pass:.1f} tok/pass, "
            f"{s.accepted_tokens}/{s.drafted_tokens} draft tokens accepted)",
            err=True,
        )


def _key(path) -> tuple:
    """A file's identity: (st_dev, st_ino) when it exists, else its resolved path."""
    from ..writing import identity

    found = identity(path)
    return found if found is not None else ("path", os.path.realpath(path))


def _check_distinct(path, snippet_path, output, stats_json, in_place) -> None:
    """Nothing written over an input or over another output (by inode, not by name)."""
    named = {"PATH": _key(path)}
    if snippet_path == "-":
        try:
            st = os.fstat(sys.stdin.fileno())
            named["the snippet (standard input)"] = (st.st_dev, st.st_ino)
        except (AttributeError, ValueError, OSError):
            pass
    else:
        named["the snippet"] = _key(snippet_path)
    if named.get("the snippet") == named["PATH"]:
        raise ConfigError("the snippet and PATH are the same file")
    for flag, target in (("-o", output), ("--stats-json", stats_json)):
        if target is None:
            continue
        key = _key(target)
        for name, other in named.items():
            if key == other:
                hint = "; use --in-place to rewrite PATH" if flag == "-o" and name == "PATH" else ""
                raise ConfigError(f"{flag} {target} is {name} itself; it would be overwritten{hint}")
        named[flag] = key


def _preflight(target: Path, *, force: bool) -> None:
    """Refuse an output that could never be written, before any work is done."""
    from ..writing import check_writable, identity

    try:
        st = os.stat(target)  # links followed: /dev/stdout -> a pipe or a terminal
    except OSError:
        st = None
    if st is not None:
        check_writable(str(target), st, os.path.realpath(target), force=force)
        return
    real = os.path.realpath(target)
    if identity(real) is None:
        if not os.path.isdir(os.path.dirname(real) or "."):
            raise WriteError(f"cannot write {target}: the directory {os.path.dirname(real)} does not exist")
        return
    check_writable(str(target), os.stat(real), real, force=force)
