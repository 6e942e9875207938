"""`fastapply eval`: apply quality and speed on the benchmark set. Heavy imports (models,
matplotlib, openai) happen inside the command, so registering it costs the main CLI nothing."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .options import make_settings, settings_options
from .progress import Bar

METHOD_NAMES = ("original", "splice", "merge", "model", "auto")
DEFAULT_METHODS = ("original", "splice", "merge", "model")


def restyled(tasks: list, value: str) -> list:
    """Every task once per style named (``all``: every style), snippets re-rendered in it."""
    from fastapply.corpus.styles import STYLES, restyle

    names = list(STYLES) if value.strip() == "all" else [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in STYLES]
    if unknown or not names:
        raise click.BadParameter(f"unknown style(s) {', '.join(unknown) or '(none)'}; choose from all, {', '.join(STYLES)}",
                                 param_hint="--style")
    out = []
    for name in names:
        for task in tasks:
            try:
                out.append(restyle(task, STYLES[name]))
            except ValueError:  # no line-level change to render (a whitespace-only task)
                continue
    return out


def parse_methods(value: str) -> list[str]:
    methods = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown or not methods:
        raise click.BadParameter(f"unknown method(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METHOD_NAMES)}")
    return methods


@click.command("eval")
@click.option("--tasks", "tasks_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A benchmark JSONL (default: the public set, built and cached on first use).")
@click.option("--limit", type=int, default=None, help="At most N tasks, spread over languages and lengths.")
@click.option("--languages", default=None, help="Comma-separated languages to keep (e.g. python,typescript).")
@click.option("--max-lines", type=int, default=400, help="Only files shorter than this many lines.")
@click.option("--methods", "methods_arg", default=",".join(DEFAULT_METHODS), show_default=True,
              help="Comma-separated: original (floor), splice (naive floor), merge (deterministic), "
                   "model (the configured model, speculative, --mode model), auto (--mode auto: the model with "
                   "the merge as draft and guarded fallback).")
@click.option("--style", "style_arg", default=None,
              help="Re-render every task's snippet in these snippet styles (comma-separated names, or 'all'; "
                   "see fastapply.corpus.styles) and report exact/refused/wrong per style.")
@click.option("--speed-sample", type=int, default=0, show_default=True,
              help="Also run N tasks with plain greedy decoding, for the speedup.")
@click.option("--judge/--no-judge", default=False, show_default=True, help="Grade results 1-5 with an LLM judge.")
@click.option("--judge-url", default=None, help="OpenAI-compatible base URL [env: FASTAPPLY_JUDGE_URL]")
@click.option("--judge-model", default=None, help="Judge model name [env: FASTAPPLY_JUDGE_MODEL]")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Resume file (JSONL); finished jobs in it are skipped. Default: under the cache dir.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report as JSON here.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report as Markdown here (default: print it).")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write accuracy_by_length.png and speedup_by_length.png into this folder.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@settings_options
def eval_cmd(tasks_path, limit, languages, max_lines, methods_arg, style_arg, speed_sample, judge, judge_url, judge_model,
             results_path, json_path, markdown_path, plots_dir, progress, **kw):
    """Measure apply quality and speed on the benchmark set.

    Runs each method over the tasks and reports exact match, syntax-tree equality,
    line similarity and failure categories, by file length and by language, beside two
    floors (the original unchanged, a naive splice) and the deterministic merge.
    Results are appended to a resume file as they come: re-running skips finished work.
    """
    from fastapply.evals import report as rep
    from fastapply.evals.dataset import load_tasks
    from fastapply.corpus.mining import FetchError
    from fastapply.evals.runner import run_eval
    from fastapply.errors import FastApplyError

    methods = parse_methods(methods_arg)
    settings = make_settings(kw)
    say = (lambda msg: click.echo(msg, err=True))
    try:
        tasks = load_tasks(tasks_path, languages=languages.split(",") if languages else None,
                           max_lines=max_lines, limit=limit, progress=say)
    except FetchError as exc:
        raise click.ClickException(f"the benchmark set could not be built: {exc}") from exc
    if not tasks:
        raise click.ClickException("no tasks match")
    if style_arg:
        tasks = restyled(tasks, style_arg)
    judge_fn = None
    if judge:
        from fastapply.evals.judge import JudgeConfig, LLMJudge

        try:
            judge_fn = LLMJudge(JudgeConfig.from_env(judge_url, judge_model))
        except (ValueError, ImportError) as exc:
            raise click.ClickException(str(exc)) from exc
    results_path = results_path or Path(settings.cache_dir) / "eval" / "results.jsonl"
    say(f"eval: {len(tasks)} tasks x {', '.join(methods)}; results in {results_path}")
    bar = Bar(unit="job", enabled=progress)

    def tell(done: int, total: int, label: str) -> None:
        if total:
            bar.update(done, total, label[-50:])

    try:
        records = run_eval(tasks, methods, settings=settings, results=results_path,
                           speed_sample=speed_sample, judge=judge_fn, progress=tell)
    except FastApplyError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        bar.close()
    report = rep.aggregate(records)
    text = rep.markdown(report)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if plots_dir:
        for png in rep.plots(report, plots_dir):
            say(f"eval: wrote {png}")
    if markdown_path:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
