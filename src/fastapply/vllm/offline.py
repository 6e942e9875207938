"""Run token prompts on one vLLM engine configuration; the harness of the tests and the benchmark.

    python -m fastapply.vllm.offline JOB.json OUT.json

JOB: ``{"model": DIR, "method": "none" | "ngram" | "fastapply", "k": 16, "tp": 1,
"requests": [{"prompt_token_ids": [...], "prediction_token_ids": [...] | null,
"max_tokens": 200}], "batch": false}``. A request may give text instead of ids:
``"messages"`` (rendered with the model's chat template, then ``"answer_prefix"`` appended)
and ``"prediction_text"``, tokenized here with the model's own tokenizer. Greedy, one engine start for all requests; each
request is run on its own (``batch: false``, so steps and timings are per request) or all
together (``batch: true``). Output per request: the generated ids, vLLM's own per-request
spec-decode counts (drafted, accepted, verify steps) and the seconds it took.

It runs in the vLLM venv (``.venv-vllm``), never in fastapply's main one: the test tier and
``benchmarks/vllm_bench.py`` call it in a subprocess.
"""
from __future__ import annotations

import json
import sys
import time


def engine_kwargs(job: dict) -> dict:
    kw = dict(model=job["model"], skip_tokenizer_init=True, dtype="float32", seed=0,
              max_model_len=job.get("max_model_len", 4096), tensor_parallel_size=job.get("tp", 1),
              enable_prefix_caching=False)
    method, k = job.get("method", "none"), job.get("k", 16)
    if method == "fastapply":
        kw["speculative_config"] = {"method": "custom_class", "model": "fastapply.vllm.PredictionProposer",
                                    "num_speculative_tokens": k}
        kw["worker_extension_cls"] = "fastapply.vllm.worker.PredictionWorkerExtension"
    elif method == "ngram":
        kw["speculative_config"] = {"method": "ngram", "num_speculative_tokens": k,
                                    "prompt_lookup_min": 2, "prompt_lookup_max": 4}
    elif method != "none":
        raise SystemExit(f"unknown method {method!r}: none, ngram or fastapply")
    if method != "none":
        kw["per_request_spec_decode_metrics"] = "summary"
    return kw


def result(out, seconds: float | None) -> dict:
    seq = out.outputs[0]
    m = seq.spec_decode_metrics
    counts = m.to_dict() if m is not None else {}
    return {"prompt_tokens": len(out.prompt_token_ids or []), "token_ids": list(seq.token_ids), "finish_reason": seq.finish_reason, "seconds": seconds,
            "drafted": counts.get("num_draft_tokens", 0), "accepted": counts.get("num_accepted_draft_tokens", 0),
            "spec_steps": counts.get("num_spec_steps", 0)}


def tokenize_texts(job: dict) -> None:
    """Fill ``prompt_token_ids`` / ``prediction_token_ids`` of requests given as text."""
    if not any("messages" in r or "prediction_text" in r for r in job["requests"]):
        return
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(job["model"])
    for r in job["requests"]:
        if "messages" in r:
            text = tok.apply_chat_template(r["messages"], tokenize=False, add_generation_prompt=True)
            r["prompt_token_ids"] = tok.encode(text + r.get("answer_prefix", ""), add_special_tokens=False)
        if r.get("prediction_text") is not None:
            r["prediction_token_ids"] = tok.encode(r["prediction_text"], add_special_tokens=False)


def run(job: dict) -> dict:
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    tokenize_texts(job)
    t0 = time.perf_counter()
    llm = LLM(**engine_kwargs(job))
    started = time.perf_counter() - t0
    attached = llm.collective_rpc("init_worker_extension") if job.get("method") == "fastapply" else []

    def params(r: dict) -> SamplingParams:
        extra = {"prediction_token_ids": r["prediction_token_ids"]} if r.get("prediction_token_ids") else None
        return SamplingParams(temperature=0.0, max_tokens=r.get("max_tokens", 200), ignore_eos=r.get("ignore_eos", False),
                              extra_args=extra)

    prompts = [TokensPrompt(prompt_token_ids=r["prompt_token_ids"]) for r in job["requests"]]
    results = []
    if job.get("batch"):
        t = time.perf_counter()
        outs = llm.generate(prompts, [params(r) for r in job["requests"]], use_tqdm=False)
        wall = time.perf_counter() - t
        results = [result(o, None) for o in outs]
    else:
        t_all = time.perf_counter()
        for p, r in zip(prompts, job["requests"]):
            t = time.perf_counter()
            (o,) = llm.generate([p], [params(r)], use_tqdm=False)
            results.append(result(o, time.perf_counter() - t))
        wall = time.perf_counter() - t_all
    return {"method": job.get("method", "none"), "tp": job.get("tp", 1), "engine_start_seconds": started,
            "wall_seconds": wall, "attached": attached, "results": results,
            "prompts": [r["prompt_token_ids"] for r in job["requests"]]}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        report = run(json.load(f))
    # A file, not stdout: vLLM logs to stdout.
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(report, f)
