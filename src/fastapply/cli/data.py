"""`fastapply data ...`: build the fine-tuning set. Command docstrings are the --help text."""
from __future__ import annotations

from pathlib import Path

import click


def parse_ratio(_ctx, _param, value: str) -> tuple[int, int]:
    try:
        real, synthetic = (int(part) for part in value.split(":"))
    except ValueError:
        raise click.BadParameter("expected REAL:SYNTHETIC, e.g. 1:4") from None
    if real < 0 or synthetic < 0 or real + synthetic == 0:
        raise click.BadParameter("both parts must be >= 0 and not both 0")
    return real, synthetic


@click.group("data")
def data_group() -> None:
    """Training data for the apply model."""


@data_group.command("build")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output JSONL [default: <cache_dir>/train/data-<seed>.jsonl].")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many examples in total.")
@click.option("--seed", default="default", show_default=True, help="Every random choice derives from it.")
@click.option("--ratio", default="1:4", show_default=True, callback=parse_ratio,
              help="real:synthetic examples (teacher examples count as synthetic).")
@click.option("--window-lines", type=click.IntRange(min=1), default=60, show_default=True,
              help="Files longer than this become windows around each change.")
@click.option("--small-keep", type=click.FloatRange(0, 1), default=0.35, show_default=True,
              help="Probability of keeping an example of a file under 100 lines.")
@click.option("--per-path", type=click.IntRange(min=1), default=3, show_default=True,
              help="At most this many examples per (source project, path).")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Training sources manifest [default: the packaged one].")
@click.option("--source", "sources", multiple=True, help="Only this source package (repeatable).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Download cache root [default: <cache_dir>/train].")
@click.option("--teacher-url", default=None, help="OpenAI-compatible endpoint of a teacher model for extra examples.")
@click.option("--teacher-model", default=None, help="Teacher model name.")
@click.option("--teacher-limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="At most this many teacher examples.")
def build_cmd(out, limit, seed, ratio, window_lines, small_keep, per_path, manifest, sources, cache_dir,
              teacher_url, teacher_model, teacher_limit) -> None:
    """Build the fine-tuning set: real edits mined from consecutive releases of the training
    packages (disjoint from the benchmark's) plus synthetic edits of their files, long files cut
    into windows around each change, mixed at --ratio. Writes the JSONL and a
    <out>.composition.json; the same options give the same bytes."""
    from fastapply.corpus.mining import FetchError
    from fastapply.train import data

    teacher = None
    if teacher_url:
        if not teacher_model:
            raise click.UsageError("--teacher-url needs --teacher-model")
        from fastapply.train.teacher import teacher_examples

        def teacher(files):
            return teacher_examples(files, base_url=teacher_url, model=teacher_model, api_key=None,
                                    limit=teacher_limit, seed=seed)

    config = data.BuildConfig(out=Path("-"), seed=seed, limit=limit, ratio=ratio, window_lines=window_lines,
                              small_keep=small_keep, per_path=per_path, cache_dir=cache_dir,
                              sources=tuple(sources), teacher=teacher, teacher_limit=teacher_limit,
                              **({"manifest": manifest} if manifest else {}))
    config = data.replace_out(config, out or data.cache_root(config) / f"data-{seed}.jsonl")
    try:
        report = data.build(config, progress=lambda msg: click.echo(msg, err=True))
    except FetchError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines():
        click.echo(line, err=True)
    click.echo(str(config.out))
