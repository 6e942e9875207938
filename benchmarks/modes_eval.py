"""Merge, model and auto side by side on one sample of the public benchmark, by language and
file length; and tokens per forward pass with and without the merge draft.

    python benchmarks/modes_eval.py --limit 48 --out benchmarks/results/modes

One run, resumable (results are appended to JSONL files and finished jobs are skipped):

1. merge (no model), model (the default fine-tuned model rewrites the file, drafts copied
   from the original and the snippet) and auto (default settings: a confident merge is
   written at once, otherwise the model with the merge as draft, guarded) on the sample;
2. auto with ``auto_prefer=model`` on the same sample: the model rewrites every file with
   the merge as its first draft. Greedy decoding is lossless, so it writes what model mode
   writes, and the two runs differ only in forward passes: the real model's tokens per pass
   without and with the merge draft, paired task by task;
3. the same pair with the oracle engine (``fastapply.evals.oracle``: a model that writes
   the expected file; no forward pass runs), on the sample and, with ``--oracle-all``, on the
   whole benchmark: what the merge draft is worth to a model that applies the edit.

Writes table.md and summary.json; every number comes from this run's records.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from fastapply.applier import Applier
from fastapply.evals import report as rep
from fastapply.evals.dataset import length_bucket, load_tasks
from fastapply.evals.oracle import OracleEngine
from fastapply.evals.runner import AUTO, MODEL, run_eval
from fastapply.settings import Settings


def tick(label: str):
    def progress(done: int, total: int, job: str) -> None:
        if done:
            print(f"\r{label}: {done}/{total} {job[:70]:70}", end="", file=sys.stderr, flush=True)
    return progress


def groups(tasks) -> list[tuple[str, set[str]]]:
    """("all", every id), then per language, then per length bucket."""
    out = [("all", {t.id for t in tasks})]
    for lang in sorted({t.language for t in tasks}):
        out.append((lang, {t.id for t in tasks if t.language == lang}))
    for bucket in rep.BUCKETS:
        ids = {t.id for t in tasks if length_bucket(t.n_lines) == bucket}
        if ids:
            out.append((f"{bucket} lines", ids))
    return out


def passes(records: list[dict], ids: set[str]) -> tuple[int, int, int]:
    """(tasks, output tokens, forward passes) over the records of `ids` that decoded."""
    rs = [r for r in records if r["task"] in ids and (r.get("stats") or {}).get("forward_passes")]
    return len(rs), sum(r["stats"]["output_tokens"] for r in rs), sum(r["stats"]["forward_passes"] for r in rs)


def pass_pair(without: list[dict], with_: list[dict], ids: set[str]) -> dict | None:
    """Tokens per pass without and with the merge draft, on tasks that decoded both ways."""
    both = {r["task"] for r in without if (r.get("stats") or {}).get("forward_passes")} & \
           {r["task"] for r in with_ if (r.get("stats") or {}).get("forward_passes")} & ids
    if not both:
        return None
    n, tok_a, pass_a = passes(without, both)
    _, tok_b, pass_b = passes(with_, both)
    return {"tasks": n, "without": round(tok_a / pass_a, 2), "with": round(tok_b / pass_b, 2),
            "passes_without": pass_a, "passes_with": pass_b, "tokens": tok_a}


def oracle_records(tasks, out: Path, real_engine) -> tuple[list[dict], list[dict]]:
    """(model-mode records, auto-with-merge-draft records) of the oracle on `tasks`."""
    settings = Settings(model="oracle", auto_prefer="model")
    probe = Applier(settings, engine=real_engine)
    answers = {tuple(probe.prompt_tokens(t.original, t.snippet, t.instruction)): t.expected for t in tasks}
    applier = Applier(settings, engine=OracleEngine(real_engine, answers))
    records = run_eval(tasks, [MODEL, AUTO], settings=settings, results=out / "oracle.jsonl",
                       applier=applier, progress=tick("oracle"))
    print(file=sys.stderr)
    return [r for r in records if r["method"] == MODEL], [r for r in records if r["method"] == AUTO]


def written_by(records: list[dict]) -> dict[str, int]:
    """Files per source ("none" where nothing was written), in order of first appearance."""
    return dict(Counter(r.get("source") or "none" for r in records))


def cell(o: dict) -> str:
    return f"{100 * o['exact']:.0f} / {100 * o['refused']:.0f} / {100 * o['wrong']:.0f}"


def net(o: dict) -> float:
    return o["exact"] - o["wrong"]


def mode_table(rows: list[tuple[str, set[str]]], by_mode: dict[str, list[dict]]) -> str:
    head = ["tasks", "n", *[f"{m}: exact / refused / wrong %" for m in by_mode],
            "auto vs best of merge, model: exact", "exact − wrong (auto; best other)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, ids in rows:
        o = {m: rep.outcome([r for r in rs if r["task"] in ids]) for m, rs in by_mode.items()}
        best = max(o["merge"]["exact"], o["model"]["exact"])
        best_net = max(net(o["merge"]), net(o["model"]))
        verdict = "≥" if o["auto"]["exact"] >= best - 1e-9 else "<"
        lines.append(f"| {name} | {len(ids)} | " + " | ".join(cell(o[m]) for m in by_mode) +
                     f" | {100 * o['auto']['exact']:.0f} {verdict} {100 * best:.0f}"
                     f" | {100 * net(o['auto']):.0f}; {100 * best_net:.0f} |")
    return "\n".join(lines) + "\n"


def pass_table(rows, real: tuple[list, list] | None, oracle: tuple[list, list] | None, oracle_name: str) -> str:
    head = ["tasks", "real model: tok/pass without → with merge draft (tasks)",
            f"oracle ({oracle_name}): without → with (tasks)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, ids in rows:
        cells = []
        for pair in (real, oracle):
            p = pass_pair(*pair, ids) if pair else None
            cells.append(f"{p['without']} → {p['with']} ({p['tasks']})" if p else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=48, help="sample size (a spread over languages and lengths)")
    ap.add_argument("--max-lines", type=int, default=400)
    ap.add_argument("--skip", default="", help="comma-separated stages to skip: model, verify, oracle")
    ap.add_argument("--oracle-all", action="store_true", help="the oracle on the whole benchmark too")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/modes"))
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    args.out.mkdir(parents=True, exist_ok=True)
    say = lambda m: print(m, file=sys.stderr)  # noqa: E731
    sample = load_tasks(max_lines=args.max_lines, limit=args.limit, progress=say)
    results = args.out / "results.jsonl"
    default = Settings()
    merge = run_eval(sample, ["merge"], results=results)
    by_mode = {"merge": merge}
    if "model" not in skip:
        recs = run_eval(sample, [MODEL, AUTO], settings=default, results=results, progress=tick("model, auto"))
        print(file=sys.stderr)
        by_mode["model"] = [r for r in recs if r["method"] == MODEL]
        by_mode["auto"] = [r for r in recs if r["method"] == AUTO]
    verify = None
    if "verify" not in skip:
        recs = run_eval(sample, [AUTO], settings=Settings(auto_prefer="model"), results=results,
                        progress=tick("auto, --auto-prefer model"))
        print(file=sys.stderr)
        verify = recs
        if "model" in by_mode:
            by_mode["auto --auto-prefer model"] = verify
    real_pair = (by_mode["model"], verify) if verify and "model" in by_mode else None
    oracle_sample = oracle_all = None
    if "oracle" not in skip:
        engine = Applier(default).engine  # for its tokenizer and chat template only
        oracle_sample = oracle_records(sample, args.out, engine)
        if args.oracle_all:
            everything = load_tasks(max_lines=args.max_lines, progress=say)
            oracle_all = (everything, oracle_records(everything, args.out, engine))
    rows = groups(sample)
    text = [f"Sample: {len(sample)} tasks of the public benchmark (`load_tasks(limit={args.limit})`, a spread over "
            f"languages and lengths), model {default.model}, threads={default.threads}.\n"]
    if len(by_mode) >= 3:
        text += ["## Exact / refused / wrong, by language and file length\n", mode_table(rows, by_mode)]
    text += ["## Tokens per forward pass without and with the merge draft\n",
             pass_table(rows, real_pair, oracle_sample, "sample")]
    if oracle_all:
        everything, pair = oracle_all
        text += [f"### The oracle on the whole benchmark ({len(everything)} tasks)\n",
                 pass_table(groups(everything), None, pair, "all tasks")]
    verify_sources = written_by(verify or [])
    auto_sources = written_by(by_mode.get("auto", []))
    text.append(f"\nAuto (default) files written by: {auto_sources}. Auto with --auto-prefer model: {verify_sources}.\n")
    summary = {
        "sample": len(sample),
        "outcomes": {m: {name: rep.outcome([r for r in rs if r["task"] in ids]) for name, ids in rows}
                     for m, rs in by_mode.items()},
        "verify_outcomes": rep.outcome(verify) if verify else None,
        "passes_real": {name: pass_pair(*real_pair, ids) for name, ids in rows} if real_pair else None,
        "passes_oracle_sample": {name: pass_pair(*oracle_sample, ids) for name, ids in rows} if oracle_sample else None,
        "passes_oracle_all": ({name: pass_pair(*oracle_all[1], ids) for name, ids in groups(oracle_all[0])}
                              if oracle_all else None),
        "auto_sources": auto_sources,
        "verify_sources": verify_sources,
    }
    (args.out / "table.md").write_text("\n".join(text))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
