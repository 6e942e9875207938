"""vLLM side by side: no speculation, vLLM's ``ngram`` (prompt lookup), fastapply's proposer.

One run, three engine starts on the same model and prompts, greedy, one request at a time.
Prediction kinds per apply prompt:

- ``file``:  the prediction an apply client sends -- the original file as the answer.
- ``exact``: the model's own output without speculation (the engine's ceiling: every token
             could arrive as a draft; with a random model, the only way to see the ceiling).
- ``edited``: ``exact`` with 3 tokens changed (a prediction that is wrong in a few places).

ngram gets no prediction (it cannot take one): it drafts from the prompt and what was
generated. Per method and kind: tokens per decode step, draft accept rate (vLLM's own
per-request counts), output tokens per second (prefill included), and whether the output
equals the no-speculation output. On a CPU with the tiny random model this measures the
proposer's overhead and the step saving, not a GPU speedup.

    PYTHONPATH=src python benchmarks/vllm_bench.py [--model DIR] [--k 16] [--max-tokens 192]
        [--out benchmarks/results/vllm-cpu.txt]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from fastapply import prompt  # noqa: E402
from fastapply.vllm import venv  # noqa: E402

ORIGINAL = (ROOT / "examples" / "app.py").read_text()
SNIPPET = (ROOT / "examples" / "app.snippet.py").read_text()
JS = "export function area(w, h) {\n  return w * h;\n}\n\nexport function perimeter(w, h) {\n  return 2 * (w + h);\n}\n"
JS_SNIPPET = "// ... existing code ...\nexport function perimeter(w, h) {\n  if (w < 0 || h < 0) throw new Error('negative');\n  return 2 * (w + h);\n}\n"
APPLIES = {"app.py": (ORIGINAL, SNIPPET), "geometry.js": (JS, JS_SNIPPET)}


def requests_for(kind: str, base: dict | None, max_tokens: int) -> list[dict]:
    out = []
    for i, (original, snippet) in enumerate(APPLIES.values()):
        r = {"messages": prompt.messages(original, snippet), "answer_prefix": prompt.answer_prefix(),
             "max_tokens": max_tokens, "ignore_eos": True}
        if kind == "file":
            r["prediction_text"] = prompt.expected_answer(original)
        elif kind in ("exact", "edited"):
            ids = list(base["results"][i]["token_ids"])
            if kind == "edited":
                for at in (len(ids) // 5, len(ids) // 2, 4 * len(ids) // 5):
                    ids[at] = (ids[at] + 1) % 1000
            r["prediction_token_ids"] = ids
        out.append(r)
    return out


def row(method: str, kind: str, report: dict, base: dict) -> dict:
    res = report["results"]
    out_tokens = sum(len(r["token_ids"]) for r in res)
    accepted, drafted = sum(r["accepted"] for r in res), sum(r["drafted"] for r in res)
    decode_tokens = out_tokens - len(res)  # the prefill emits each request's first token
    # Decode steps = steps that verified a draft (vLLM's num_spec_steps; each emits accepted + 1)
    # + plain steps (one token each). max_tokens can cut the last verified step short, so
    # plain steps are what the output has beyond the verified steps' tokens, never below 0.
    steps = sum(r["spec_steps"] + max(0, len(r["token_ids"]) - 1 - r["accepted"] - r["spec_steps"]) for r in res)
    seconds = sum(r["seconds"] for r in res)
    return {"method": method, "prediction": kind, "output_tokens": out_tokens, "decode_steps": steps,
            "tokens_per_step": decode_tokens / steps if steps else 0.0, "drafted": drafted, "accepted": accepted,
            "accept_rate": accepted / drafted if drafted else 0.0, "tokens_per_second": out_tokens / seconds,
            "seconds": seconds, "engine_start_seconds": report["engine_start_seconds"],
            "same_as_plain": [r["token_ids"] for r in res] == [r["token_ids"] for r in base["results"]]}


def table(rows: list[dict]) -> str:
    head = f"{'method':<10} {'prediction':<10} {'tok/step':>8} {'accepted/drafted':>17} {'accept':>7} {'tok/s':>7} {'= plain':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['method']:<10} {r['prediction']:<10} {r['tokens_per_step']:>8.2f} "
                     f"{str(r['accepted']) + '/' + str(r['drafted']):>17} {r['accept_rate']:>7.0%} "
                     f"{r['tokens_per_second']:>7.1f} {'yes' if r['same_as_plain'] else 'NO':>7}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a model directory (default: the tiny random Llama, built once)")
    ap.add_argument("--k", type=int, default=16, help="num_speculative_tokens for ngram and fastapply")
    ap.add_argument("--max-tokens", type=int, default=192)
    ap.add_argument("--out", type=Path, help="write the table and the JSON rows here")
    args = ap.parse_args()
    if venv.python() is None:
        raise SystemExit(f"no vLLM venv at {venv.venv_dir()}: run scripts/setup-vllm.sh")
    model = args.model or str(venv.build_tiny_model(Path(tempfile.gettempdir()) / "fastapply-tinyllama"))
    load = os.getloadavg()

    job = {"model": model, "k": args.k}
    plain = venv.run_job({**job, "method": "none", "requests": requests_for("none", None, args.max_tokens)})
    rows = [row("none", "-", plain, plain)]
    ngram = venv.run_job({**job, "method": "ngram", "requests": requests_for("none", None, args.max_tokens)})
    rows.append(row("ngram", "-", ngram, plain))
    kinds = ["file", "exact", "edited"]
    ours_requests = [r for kind in kinds for r in requests_for(kind, plain, args.max_tokens)]
    ours = venv.run_job({**job, "method": "fastapply", "requests": ours_requests})
    n = len(APPLIES)
    for i, kind in enumerate(kinds):
        part = {**ours, "results": ours["results"][i * n:(i + 1) * n]}
        rows.append(row("fastapply", kind, part, plain))

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    header = (f"# benchmarks/vllm_bench.py, {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, commit {commit}; "
              f"vllm-cpu 0.32.0 on a 2-core CPU shared with other jobs (load avg {load[0]:.1f} at start); "
              f"tiny random Llama (2 layers, hidden 128, float32), {len(APPLIES)} apply prompts, "
              f"max_tokens {args.max_tokens} (ignore_eos), k={args.k}, one request at a time; no GPU was lent to this task")
    text = header + "\n" + table(rows) + "\n\n" + json.dumps(rows, indent=2) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
