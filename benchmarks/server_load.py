"""Load figures for ``fastapply serve`` on loopback (a benchmark, not a test).

Starts a real server (embedded model, ``--mode auto``) and measures, with N concurrent
clients: p50/p95 latency and throughput of merge-mode and model-mode applies; the
accepted/rejected prediction tokens of real requests; prefix reuse (the same file twice);
time to the first streamed chunk. 429s are retried after Retry-After and counted.

    PYTHONPATH=src python benchmarks/server_load.py [--clients 16] [--merge 160] [--model 8]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from serverproc import running_server  # noqa: E402  (starts the server from this tree)

ORIGINAL = (ROOT / "examples" / "app.py").read_text()
SNIPPET = (ROOT / "examples" / "app.snippet.py").read_text()
MODEL = "smollm2-135m-apply"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def post(base: str, path: str, body: dict, retries: list) -> tuple[float, dict]:
    t0 = time.perf_counter()
    while True:
        r = requests.post(base + path, json=body, timeout=600)
        if r.status_code != 429:
            r.raise_for_status()
            return time.perf_counter() - t0, r.json()
        retries.append(1)
        time.sleep(float(r.headers["Retry-After"]) / 4)


def load(base: str, bodies: list[dict], clients: int) -> dict:
    retries: list = []
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda b: post(base, "/v1/apply", b, retries), bodies))
    wall = time.perf_counter() - t0
    latencies = [s for s, _ in results]
    tokens = sum(d["usage"]["completion_tokens"] for _, d in results)
    return {"requests": len(bodies), "clients": clients, "p50_s": pct(latencies, 0.5), "p95_s": pct(latencies, 0.95),
            "throughput_req_s": len(bodies) / wall, "completion_tokens_s": tokens / wall, "wall_s": wall,
            "retried_429": len(retries)}


def merge_bodies(n: int) -> list[dict]:
    original = "".join(f"def f{j}():\n    return {j}\n\n\n" for j in range(200))
    return [{"initialCode": original, "editSnippet": f"# ... existing code ...\ndef f{i % 200}():\n    return {-i}\n"
             "# ... existing code ...\n", "mode": "merge", "path": "m.py"} for i in range(n)]


def first_chunk(base: str, instruction: str) -> dict:
    t0 = time.perf_counter()
    r = requests.post(base + "/v1/apply", json={"initialCode": ORIGINAL, "editSnippet": SNIPPET, "mode": "model",
                                                "instruction": instruction, "stream": True}, stream=True)
    first, pieces, final = None, 0, {}
    for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        if event.get("mergedCode"):
            pieces += 1
            first = first if first is not None else time.perf_counter() - t0
        if event.get("done"):
            final = event
    return {"first_chunk_s": first, "total_s": time.perf_counter() - t0, "pieces": pieces,
            "completion_tokens": final["usage"]["completion_tokens"],
            "cached_prompt_tokens": final["usage"]["prompt_tokens_details"]["cached_tokens"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--merge", type=int, default=160, help="merge-mode requests")
    ap.add_argument("--model", type=int, default=8, help="model-mode requests")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    out: dict = {"machine": f"{os.cpu_count()} CPU cores", "model": MODEL, "threads": args.threads}
    with running_server("--mode", "auto", "--queue-size", "16", "--retry-after", "1",
                        "--threads", str(args.threads)) as base:
        apply_body = {"initialCode": ORIGINAL, "editSnippet": SNIPPET, "mode": "model"}
        cold_s, cold = post(base, "/v1/apply", apply_body, [])
        warm_s, warm = post(base, "/v1/apply", apply_body, [])
        out["prefix_reuse"] = {
            "first": {"seconds": cold_s, "prompt_tokens": cold["usage"]["prompt_tokens"],
                      "cached_tokens": cold["usage"]["prompt_tokens_details"]["cached_tokens"],
                      "prefill_s": cold["speculation"]["prefill_seconds"]},
            "same_file_again": {"seconds": warm_s, "cached_tokens": warm["usage"]["prompt_tokens_details"]["cached_tokens"],
                                "prefill_s": warm["speculation"]["prefill_seconds"],
                                "identical": warm["mergedCode"] == cold["mergedCode"]}}
        # One real request through the chat API, apply-shaped (model fastapply-model) ...
        chat = {"model": "fastapply-model", "messages": [{"role": "user", "content":
                f"<instruction>check the amount</instruction>\n<code>{ORIGINAL}</code>\n<update>{SNIPPET}</update>"}],
                "prediction": {"type": "content", "content": ORIGINAL}}
        _, reply = post(base, "/v1/chat/completions", chat, [])
        out["apply_chat_request"] = {"usage": reply["usage"], "speculation": reply["speculation"]}
        # ... and a plain predicted-output completion on the served model, with and without the prediction.
        repeat = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content":
                  "Repeat exactly: def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n"}]}
        plain_s, plain = post(base, "/v1/chat/completions", repeat, [])
        text = plain["choices"][0]["message"]["content"]
        pred_s, pred = post(base, "/v1/chat/completions",
                            {**repeat, "prediction": {"type": "content", "content": text}}, [])
        out["predicted_output_request"] = {
            "without": {"seconds": plain_s, "forward_passes": plain["speculation"]["forward_passes"]},
            "with": {"seconds": pred_s, "forward_passes": pred["speculation"]["forward_passes"],
                     **pred["usage"]["completion_tokens_details"]},
            "identical_text": pred["choices"][0]["message"]["content"] == text}
        out["stream_fresh_prompt"] = first_chunk(base, "a new instruction, so the prompt is not cached")
        out["stream_cached_prompt"] = first_chunk(base, "a new instruction, so the prompt is not cached")
        out["merge_load"] = load(base, merge_bodies(args.merge), args.clients)
        # The same file each time (the prompt stays cached), then two instructions in turn
        # (the instruction precedes the file, so each request re-evaluates most of its prompt).
        out["model_load_same_prompt"] = load(base, [apply_body] * args.model, args.clients)
        out["model_load_alternating_prompts"] = load(
            base, [{**apply_body, "instruction": f"edit {i % 2}"} for i in range(args.model)], args.clients)
        out["merge_load_beside_model"] = None  # merges do not wait behind the engine thread:
        with ThreadPoolExecutor(2) as pool:
            model_job = pool.submit(load, base, [apply_body] * 4, 4)
            merge_job = pool.submit(load, base, merge_bodies(40), args.clients - 4)
            out["merge_load_beside_model"] = {"merge": merge_job.result(), "model": model_job.result()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
