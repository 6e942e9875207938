"""`fastapply bench`: plain greedy vs speculative edits vs prompt lookup, side by side."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .options import make_settings, settings_options


@click.command("bench")
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

    from ..applier import Applier
    from ..bench import load_peer, run_bench, summarize, verify_cost_curve
    from ..evals.dataset import load_tasks
    from ..models import resolve

    settings = make_settings(kw)
    tasks = load_tasks(languages=[language], min_lines=min_lines, max_lines=max_lines, limit=n_tasks,
                       progress=lambda m: click.echo(m, err=True))
    applier = Applier(settings)
    if getattr(applier.engine, "text_level", False):
        raise click.ClickException("bench times the decode loop pass by pass, which a remote engine "
                                   "(--backend openai) does not expose; use fastapply eval for it")
    prompts = [applier.prompt_tokens(t.original, t.snippet, t.instruction) for t in tasks]
    need = max(map(len, prompts)) + max_tokens + 64  # + the peer's last draft
    engine = settings.engine
    llm = load_peer(str(resolve(engine.model, settings.cache_dir)[0]), min(need, applier.engine.n_ctx),
                    engine.threads) if peer else None
    click.echo(f"model {engine.model}, {engine.threads} threads, exact={engine.exact}, "
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
