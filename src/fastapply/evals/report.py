"""Aggregate eval records into a report: a JSON-able dict, a Markdown page, PNG plots.

    report = aggregate(records)
    Path("eval.md").write_text(markdown(report))
    plots(report, Path("plots"))

Rates are shares of the tasks a method ran on (0..1). Buckets are the dataset's length
buckets of the original file (<100, 100-200, 200-400 lines).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from statistics import mean

from fastapply.evals.dataset import LENGTH_BUCKETS
from fastapply.evals.metrics import CATEGORIES, DID_NOT_FINISH
from fastapply.settings import ApplyPolicy
from fastapply.evals.runner import AUTO, GREEDY, METHODS, MODEL, MODEL_METHODS

CONFIDENT = ApplyPolicy.model_fields["merge_min_confidence"].default  # auto's fallback threshold
BUCKETS = tuple(f"{low}-{high}" for low, high in LENGTH_BUCKETS)
BUCKET_NAMES = {b: (f"<{high}" if low == 0 else f"{low}–{high}") for b, (low, high) in zip(BUCKETS, LENGTH_BUCKETS)}
LABELS = {
    "original": "floor: original unchanged",
    "splice": "floor: naive splice",
    "merge": "deterministic merge",
    MODEL: "model",
    AUTO: "auto (model + merge draft, guarded fallback)",
}


def label(method: str, model: str = "") -> str:
    if method == MODEL and model:
        return f"model: {model} (speculative)"
    if method == AUTO and model:
        return f"auto: {model} + merge draft, fallback"
    return LABELS.get(method, method)


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def accuracy(records: list[dict]) -> dict:
    syntax = [r["syntax"] for r in records if r["syntax"] is not None]
    return {"tasks": len(records), "exact_match": _rate([r["exact"] for r in records]), "syntax_match": _rate(syntax)}


def grouped(records: list[dict], field: str, order: tuple[str, ...] = ()) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[record[field]].append(record)
    keys = [k for k in order if k in groups] + sorted(k for k in groups if k not in order)
    return {key: accuracy(groups[key]) for key in keys}


def speed(records: list[dict]) -> dict | None:
    """Speculative vs plain greedy on the tasks that ran both; tokens per pass over all
    speculative runs. Speedup is total greedy time over total speculative time (prefill +
    decode; decode alone as decode_speedup), so long files weigh by their cost."""
    spec = {r["task"]: r for r in records if r["method"] == MODEL and r.get("stats")}
    pairs = [(spec[r["task"]], r) for r in records if r["method"] == GREEDY and r.get("stats") and r["task"] in spec]
    if not spec:
        return None

    def total(r: dict) -> float:
        return r["stats"]["prefill_seconds"] + r["stats"]["decode_seconds"]

    def ratio(group: list[tuple[dict, dict]], key=total) -> float | None:
        spec_s = sum(key(s) for s, _ in group)
        return round(sum(key(g) for _, g in group) / spec_s, 3) if group and spec_s > 0 else None

    by_bucket = {b: [p for p in pairs if p[0]["bucket"] == b] for b in BUCKETS}
    stats = [r["stats"] for r in spec.values()]
    return {
        "sampled_tasks": len(pairs),
        "speedup": ratio(pairs),
        "decode_speedup": ratio(pairs, lambda r: r["stats"]["decode_seconds"]),
        "lossless": sum(s["answer_sha"] == g["answer_sha"] for s, g in pairs),
        "tokens_per_pass": round(mean(s["tokens_per_pass"] for s in stats), 3),
        "tokens_per_second": round(mean(s["tokens_per_second"] for s in stats), 2),
        "acceptance_rate": round(mean(s["acceptance_rate"] for s in stats), 3),
        "by_length": {b: {"tasks": len(p), "speedup": ratio(p)} for b, p in by_bucket.items() if p},
    }


def _pass_stats(group: list[dict]) -> dict:
    """Totals, not means of ratios: a long rambling answer weighs by its length."""
    out = sum(r["stats"]["output_tokens"] for r in group)
    passes = sum(r["stats"]["forward_passes"] for r in group)
    drafted = sum(r["stats"]["drafted_tokens"] for r in group)
    decode = sum(r["stats"]["decode_seconds"] for r in group)
    return {
        "tokens_per_pass": round(out / passes, 3) if passes else None,
        "acceptance_rate": round(sum(r["stats"]["accepted_tokens"] for r in group) / drafted, 3) if drafted else None,
        "tokens_per_second": round(out / decode, 2) if decode else None,
        "output_tokens": out,
    }


def draft_effect(records: list[dict]) -> dict | None:
    """Tokens per forward pass without the merge draft (model) and with it (auto), on the tasks
    that ran both with decode statistics; and who wrote auto's files."""
    auto = [r for r in records if r["method"] == AUTO]
    if not auto:
        return None
    model = {r["task"]: r for r in records if r["method"] == MODEL and (r.get("stats") or {}).get("forward_passes")}
    pairs = [(model[r["task"]], r) for r in auto if (r.get("stats") or {}).get("forward_passes") and r["task"] in model]
    return {
        "sources": dict(sorted(Counter(r.get("source") or "none" for r in auto).items())),
        "paired_tasks": len(pairs),
        "without_draft": _pass_stats([m for m, _ in pairs]) if pairs else None,
        "with_merge_draft": _pass_stats([a for _, a in pairs]) if pairs else None,
    }


def written(record: dict) -> bool:
    """Whether the method wrote a file. A model answer its guards rejected (a leaked marker, a
    mass deletion, a snippet line missing) is scored for similarity but was never written: a
    refusal, not a wrong file."""
    if record["method"] in MODEL_METHODS:
        return bool(record.get("source"))
    return record["failure"] != DID_NOT_FINISH


def outcome(group: list[dict]) -> dict:
    """Exact, refused (no file: the method said no or never finished) and wrong-but-written
    shares; a wrong file written is the expensive failure, a refusal the cheap one."""
    n = len(group)
    refused = sum(not written(r) for r in group)
    exact = sum(r["exact"] for r in group)
    out = {"tasks": n, "exact": _rate([r["exact"] for r in group]),
           "refused": round(refused / n, 4) if n else None, "wrong": round((n - exact - refused) / n, 4) if n else None}
    scored = [r for r in group if r.get("confidence") is not None]
    if scored:  # what auto mode would write alone: merges at or above its fallback threshold
        confident = [r for r in scored if r["confidence"] >= CONFIDENT]
        out["confident"] = round(len(confident) / n, 4)
        out["confident_wrong"] = round(sum(not r["exact"] for r in confident) / n, 4)
    return out


def _groups(records: list[dict], field: str, order: tuple[str, ...] = ()) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[record.get(field, "benchmark")].append(record)
    keys = [k for k in order if k in groups] + sorted(k for k in groups if k not in order)
    return {key: groups[key] for key in keys}


def outcomes(records: list[dict], field: str, order: tuple[str, ...] = ()) -> dict[str, dict]:
    return {key: outcome(rows) for key, rows in _groups(records, field, order).items()}


def judged(records: list[dict]) -> dict:
    scores = [r["judge"]["score"] for r in records if (r.get("judge") or {}).get("score") is not None]
    return {"scored": len(scores), "mean": round(mean(scores), 3) if scores else None}


def aggregate(records: list[dict]) -> dict:
    """The report dict. `records` as run_eval returns them (any mix of methods)."""
    tasks = {r["task"]: r for r in records}
    methods = [m for m in METHODS if any(r["method"] == m for r in records)]
    by_method = {m: [r for r in records if r["method"] == m] for m in methods}
    model = next((r["model"] for r in records if r["method"] == MODEL), "")
    report = {
        "dataset": {
            "tasks": len(tasks),
            "languages": dict(sorted(Counter(r["language"] for r in tasks.values()).items())),
            "by_length": {b: n for b in BUCKETS if (n := sum(r["bucket"] == b for r in tasks.values()))},
        },
        "model": model,
        "methods": {m: label(m, model) for m in methods},
        "exact_match": {m: accuracy(rs)["exact_match"] for m, rs in by_method.items()},
        "syntax_match": {m: accuracy(rs)["syntax_match"] for m, rs in by_method.items()},
        "similarity": {m: round(mean(r["similarity"] for r in rs), 4) for m, rs in by_method.items()},
        "by_length": {m: grouped(rs, "bucket", BUCKETS) for m, rs in by_method.items()},
        "by_language": {m: grouped(rs, "language") for m, rs in by_method.items()},
        "failures": {m: {c: n for c in CATEGORIES if (n := sum(r["failure"] == c for r in rs))}
                     for m, rs in by_method.items()},
        "speed": speed(records),
        "draft": draft_effect(records),
        "outcomes": {m: {"all": outcome(rs), "by_language": outcomes(rs, "language"),
                         "by_length": outcomes(rs, "bucket", BUCKETS)} for m, rs in by_method.items()},
    }
    styles = {r.get("style", "benchmark") for r in records}
    if styles != {"benchmark"}:
        report["by_style"] = {m: {st: {"all": outcome(rows), "by_language": outcomes(rows, "language"),
                                       "by_length": outcomes(rows, "bucket", BUCKETS)}
                                  for st, rows in _groups(rs, "style").items()} for m, rs in by_method.items()}
    if any(r.get("judge") for r in records):
        report["judge"] = {m: judged(rs) for m, rs in by_method.items()}
    return report


# --- Markdown -------------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(report: dict) -> str:
    data, methods = report["dataset"], report["methods"]
    langs = ", ".join(f"{k} {v}" for k, v in data["languages"].items())
    out = ["# fastapply eval", "", f"{data['tasks']} tasks ({langs}).", ""]
    header = ["method", "exact", "syntax", "similarity"] + [f"{BUCKET_NAMES[b]} lines" for b in BUCKETS]
    rows = []
    for m, name in methods.items():
        buckets = report["by_length"][m]
        rows.append([name, _pct(report["exact_match"][m]), _pct(report["syntax_match"][m]),
                     f"{report['similarity'][m]:.3f}"]
                    + [f"{_pct(buckets[b]['exact_match'])} ({buckets[b]['tasks']})" if b in buckets else "–"
                       for b in BUCKETS])
    out += _table(header, rows) + ["", "Exact match by language (tasks):", ""]
    languages = list(data["languages"])
    out += _table(["method"] + languages, [
        [name] + [_pct(report["by_language"][m].get(lang, {}).get("exact_match")) for lang in languages]
        for m, name in methods.items()
    ])
    out += ["", *outcome_lines(report, languages)]
    if "by_style" in report:
        out += ["", *style_lines(report)]
    out += ["", "Failures (tasks):", ""]
    out += _table(["method"] + list(CATEGORIES), [
        [name] + [str(report["failures"][m].get(c, 0)) for c in CATEGORIES] for m, name in methods.items()
    ])
    out += ["", *speed_lines(report.get("speed")), *draft_lines(report.get("draft"))]
    if "judge" in report:
        out += ["", "LLM judge (1-5, mean over scored tasks):", ""]
        out += _table(["method", "mean", "scored"], [
            [name, "–" if report["judge"][m]["mean"] is None else f"{report['judge'][m]['mean']:.2f}",
             str(report["judge"][m]["scored"])] for m, name in methods.items()
        ])
    return "\n".join(out) + "\n"


def outcome_lines(report: dict, languages: list[str]) -> list[str]:
    """Exact / refused / wrong-but-written per method, overall, by language and by length."""
    methods = [m for m in report["methods"] if m != "original"]
    if not methods:
        return []

    def cell(o: dict | None) -> str:
        if not o:
            return "–"
        text = f"{_pct(o['exact'])} / {_pct(o['refused'])} / {_pct(o['wrong'])}"
        return text + (f" ({_pct(o['confident_wrong'])})" if "confident_wrong" in o else "")

    rows = [["all", str(report["dataset"]["tasks"])] + [cell(report["outcomes"][m]["all"]) for m in methods]]
    for lang in languages:
        n = report["dataset"]["languages"][lang]
        rows.append([lang, str(n)] + [cell(report["outcomes"][m]["by_language"].get(lang)) for m in methods])
    for b in BUCKETS:
        if b in report["dataset"]["by_length"]:
            rows.append([f"{BUCKET_NAMES[b]} lines", str(report["dataset"]["by_length"][b])]
                        + [cell(report["outcomes"][m]["by_length"].get(b)) for m in methods])
    note = (f"Exact / refused / wrong file written, per method (in parentheses for the merge: wrong files at "
            f"confidence >= {CONFIDENT}, what auto mode falls back to):")
    return [note, "", *_table(["tasks", "n"] + [report["methods"][m] for m in methods], rows)]


def style_lines(report: dict) -> list[str]:
    """Exact / refused / wrong per snippet style, overall and by language and length."""
    methods = [m for m in report["methods"] if m in report["by_style"]]
    cell = lambda o: f"{_pct(o['exact'])} / {_pct(o['refused'])} / {_pct(o['wrong'])}" if o else "–"  # noqa: E731
    styles = list(report["by_style"][methods[0]])
    summary = [[st, str(report["by_style"][methods[0]][st]["all"]["tasks"])]
               + [cell(report["by_style"][m][st]["all"]) for m in methods] for st in styles]
    rows = []
    for st in styles:
        first = report["by_style"][methods[0]][st]
        rows.append([st, "all", str(first["all"]["tasks"])] + [cell(report["by_style"][m][st]["all"]) for m in methods])
        for field, names in (("by_language", list(first["by_language"])), ("by_length", list(first["by_length"]))):
            for key in names:
                label = f"{BUCKET_NAMES[key]} lines" if field == "by_length" else key
                rows.append([st, label, str(first[field][key]["tasks"])]
                            + [cell(report["by_style"][m][st][field].get(key)) for m in methods])
    names = [report["methods"][m] for m in methods]
    return ["Exact / refused / wrong file written, by snippet style (`--style`):", "",
            *_table(["style", "n"] + names, summary), "", "The same by language and file length:", "",
            *_table(["style", "tasks", "n"] + names, rows)]


def speed_lines(speed_report: dict | None) -> list[str]:
    if not speed_report:
        return ["Speed: no model runs."]
    s = speed_report
    lines = [f"Speed: {s['tokens_per_pass']:.2f} tokens per forward pass, {s['tokens_per_second']:.1f} tokens/s, "
             f"draft acceptance {_pct(s['acceptance_rate'])} (mean over model runs)."]
    if s["sampled_tasks"]:
        per_bucket = ", ".join(f"{BUCKET_NAMES[b]} lines: {v['speedup']}x ({v['tasks']})" for b, v in s["by_length"].items())
        lines.append(f"Speedup over plain greedy on {s['sampled_tasks']} sampled tasks: {s['speedup']}x end to end, "
                     f"{s['decode_speedup']}x decode only ({per_bucket}); identical output on "
                     f"{s['lossless']}/{s['sampled_tasks']}.")
    return lines


def draft_lines(draft: dict | None) -> list[str]:
    if not draft:
        return []
    sources = ", ".join(f"{k} {v}" for k, v in draft["sources"].items())
    lines = ["", f"Auto: files written by {sources}."]
    if draft["paired_tasks"]:
        a, b = draft["without_draft"], draft["with_merge_draft"]
        lines.append(f"Tokens per forward pass on {draft['paired_tasks']} tasks run both ways: {a['tokens_per_pass']} "
                     f"without the merge draft (model), {b['tokens_per_pass']} with it (auto); draft acceptance "
                     f"{_pct(a['acceptance_rate'])} vs {_pct(b['acceptance_rate'])}.")
    return lines


# --- plots ----------------------------------------------------------------------------------------
def plots(report: dict, directory: Path) -> list[Path]:
    """accuracy_by_length.png and speedup_by_length.png in `directory`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counts = report["dataset"]["by_length"]
    ticks = [f"{BUCKET_NAMES[b]} lines\n({counts.get(b, 0)} tasks)" for b in BUCKETS]
    methods = report["methods"]
    width = 0.8 / max(len(methods), 1)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (m, name) in enumerate(methods.items()):
        values = [100 * (report["by_length"][m].get(b, {}).get("exact_match") or 0) for b in BUCKETS]
        bars = ax.bar([x + (i - (len(methods) - 1) / 2) * width for x in range(len(BUCKETS))], values, width, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(range(len(BUCKETS)), ticks)
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Apply accuracy by file length")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    accuracy_png = directory / "accuracy_by_length.png"
    fig.savefig(accuracy_png, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    by_length = (report.get("speed") or {}).get("by_length", {})
    values = [by_length.get(b, {}).get("speedup") or 0 for b in BUCKETS]
    bars = ax.bar(range(len(BUCKETS)), values, 0.5, color="tab:green")
    ax.bar_label(bars, labels=[f"{v:.2f}x ({by_length[b]['tasks']})" if b in by_length else "not sampled"
                               for v, b in zip(values, BUCKETS)], fontsize=8)
    ax.axhline(1.0, color="gray", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(BUCKETS)), [f"{BUCKET_NAMES[b]} lines" for b in BUCKETS])
    ax.set_ylabel("speedup over plain greedy (x)")
    ax.set_ylim(0, max(values + [1.0]) * 1.25)
    ax.set_title(f"Speculative vs greedy decoding by file length ({report.get('model') or 'no model'})")
    fig.tight_layout()
    speedup_png = directory / "speedup_by_length.png"
    fig.savefig(speedup_png, dpi=120)
    plt.close(fig)
    return [accuracy_png, speedup_png]
