"""Zero-shot vs fine-tuned, side by side in one run, on the public benchmark.

    python benchmarks/finetune_eval.py --limit 24 --max-lines 200 \\
        --models smollm2-135m,smollm2-135m-apply --out benchmarks/results/finetune

Each model applies the same tasks in model mode (speculative edits, drafts copied from
the original and the snippet) and in auto mode (the merge as first draft); results are
appended to a resumable JSONL. Prints and writes a Markdown table: exact match by file
length, who wrote the file, tokens per forward pass, decode tokens/s, and how answers
ended. Every number comes from the records of this run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from fastapply.evals.dataset import length_bucket, load_tasks
from fastapply.evals.runner import load_results, run_eval
from fastapply.settings import Settings


def summarize(records: list[dict]) -> dict:
    stats = [r["stats"] for r in records if r.get("stats")]
    passes = sum(s["forward_passes"] for s in stats)
    out_tokens = sum(s["output_tokens"] for s in stats)
    decode_s = sum(s["decode_seconds"] for s in stats)
    ends: dict[str, int] = {}
    for s in stats:
        ends[s.get("stop_reason") or "?"] = ends.get(s.get("stop_reason") or "?", 0) + 1
    by_bucket: dict[str, list[bool]] = {}
    for r in records:
        by_bucket.setdefault(r["bucket"], []).append(bool(r["exact"]))
    return {
        "n": len(records),
        "exact": sum(r["exact"] for r in records) / max(1, len(records)),
        "by_bucket": {b: (sum(v), len(v)) for b, v in sorted(by_bucket.items())},
        "from_model": sum(r.get("source") == "model" for r in records),
        "tokens_per_pass": out_tokens / passes if passes else None,
        "decode_tok_s": out_tokens / decode_s if decode_s else None,
        "median_seconds": statistics.median(r["seconds"] for r in records) if records else None,
        "ends": ends,
    }


def merge_wins(records: list[dict], tasks: dict, threshold: float) -> list[dict]:
    """Auto records re-decided by ``--auto-prefer merge``: where the model's written answer
    and a merge of at least ``threshold`` confidence differ, the merge's text counts. Exact:
    that policy only chooses between two texts this run already has (the model's answer in
    the record, the deterministic merge recomputed), so no model runs again."""
    from fastapply.evals import metrics
    from fastapply.merge import merge

    out = []
    for r in records:
        task = tasks[r["task"]]
        text = task.expected if r["exact"] else r.get("output")
        if r.get("source") == "model":
            m = merge(task.original, task.snippet, path=task.path)
            if m.ok and m.confidence >= threshold and m.text != text:
                r = {**r, "exact": metrics.exact_match(m.text, task.expected), "source": "merge-over-model"}
        out.append(r)
    return out


def table(summary: dict[tuple[str, str], dict], buckets: list[str]) -> str:
    head = ["model", "mode", "exact", *[f"exact {b} lines" for b in buckets], "written by model",
            "tok/pass", "decode tok/s", "median s/task", "answers ended by"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (model, method), s in summary.items():
        cells = [model, method, f"{100 * s['exact']:.0f}% ({round(s['exact'] * s['n'])}/{s['n']})"]
        for b in buckets:
            k, n = s["by_bucket"].get(b, (0, 0))
            cells.append(f"{k}/{n}" if n else "-")
        cells += [str(s["from_model"]), f"{s['tokens_per_pass']:.2f}" if s["tokens_per_pass"] else "-",
                  f"{s['decode_tok_s']:.0f}" if s["decode_tok_s"] else "-",
                  f"{s['median_seconds']:.1f}" if s["median_seconds"] is not None else "-",
                  ", ".join(f"{k} {v}" for k, v in sorted(s["ends"].items()))]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="smollm2-135m,smollm2-135m-apply",
                    help="comma-separated; each NAME or NAME:field=value:... (Settings fields, or methods=model+auto)")
    ap.add_argument("--methods", default="model,auto")
    ap.add_argument("--limit", type=int, default=24)
    ap.add_argument("--languages", default=None)
    ap.add_argument("--max-lines", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--report-only", action="store_true", help="no model runs: tabulate the results file")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/finetune"))
    args = ap.parse_args(argv)
    tasks = load_tasks(languages=args.languages.split(",") if args.languages else None,
                       max_lines=args.max_lines, limit=args.limit,
                       progress=lambda m: print(m, file=sys.stderr))
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    summary: dict[tuple[str, str], dict] = {}
    for entry in args.models.split(","):
        # "name" or "name:key=value:key=value" (any Settings field, e.g. window_min_lines=60)
        model, *pairs = entry.split(":")
        extra = dict(pair.split("=", 1) for pair in pairs)
        methods = extra.pop("methods", args.methods).split("+") if "methods" in extra else args.methods.split(",")
        settings = Settings(model=model, **extra, **({"threads": args.threads} if args.threads else {}))
        def tick(i, total, label, entry=entry):
            if i:
                print(f"\r{entry}: {i}/{total} {label[:60]:60}", end="", file=sys.stderr, flush=True)

        if args.report_only:  # the records already in the results file, whatever settings made them
            ids = {t.id for t in tasks}
            records = [r for r in load_results(results).values() if r["task"] in ids and r["model"] == model]
        else:
            records = run_eval(tasks, methods, settings=settings, results=results, progress=tick)
            print(file=sys.stderr)
        label = entry.split(":methods=")[0]
        for method in methods:
            summary[(label, method)] = summarize([r for r in records if r["method"] == method])
        if "auto" in methods:
            by_id = {t.id: t for t in tasks}
            auto = [r for r in records if r["method"] == "auto"]
            summary[(label, "auto, merge wins (derived)")] = summarize(merge_wins(auto, by_id, settings.policy.merge_min_confidence))
    buckets = sorted({length_bucket(t.n_lines) for t in tasks}, key=lambda b: int(b.split("-")[0].rstrip("+")))
    text = (f"{len(tasks)} tasks (public benchmark, files < {args.max_lines} lines, spread over languages and "
            f"lengths), threads={Settings().engine.threads if not args.threads else args.threads}\n\n" + table(summary, buckets))
    (args.out / "table.md").write_text(text)
    (args.out / "summary.json").write_text(json.dumps({f"{m}/{k}": v for (m, k), v in summary.items()}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
