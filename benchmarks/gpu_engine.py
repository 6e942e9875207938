"""The speculative engine on a GPU, through the transformers backend.

No 1B+ model weights can be had offline here (the embedded GGUFs are 135M/270M and too
big to ship to a lent GPU machine), so this measures the *engine*, not a model's edits:
a Llama-architecture model of a given size with random weights, fp32/bf16, whose greedy
answer to a random 2,000-token prompt is computed plainly, then again with speculative
edits whose draft is (a) that answer itself (the oracle: every token accepted -- the
ceiling, what a model that copies unchanged code gets) and (b) that answer with an "edit"
every ~150 tokens (24 tokens replaced), like a file with a few changed regions. Reports
tokens/s, speedups, tokens per forward pass, identity with greedy, and the cost of
verifying k tokens. Run: python benchmarks/gpu_engine.py [--sizes 135m,1b] [--tokens 1024]
"""
from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from fastapply.backends.hf import TransformersEngine
from fastapply.speculative import AdaptiveDraftLength, CopyDrafter, generate

SIZES = {  # SmolLM2-135M's and TinyLlama-1.1B's shapes
    "135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                 num_key_value_heads=3, vocab_size=49152),
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4, vocab_size=32000),
    "3b": dict(hidden_size=3072, intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
               num_key_value_heads=8, vocab_size=128256),
}


def edited(tokens: list[int], vocab: int, every: int = 150, span: int = 24) -> list[int]:
    out = list(tokens)
    for start in range(every // 2, len(out), every):
        for i in range(start, min(start + span, len(out))):
            out[i] = (out[i] * 7 + 13) % vocab
    return out


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    r = fn()
    torch.cuda.synchronize()
    return r, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="135m,1b,3b")
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()
    results = {}
    for size in args.sizes.split(","):
        torch.manual_seed(0)
        cfg = LlamaConfig(max_position_embeddings=8192, **SIZES[size])
        with torch.device("cuda"):
            model = LlamaForCausalLM(cfg).to(getattr(torch, args.dtype))
        # Random weights make a flat next-token distribution; scaling the output layer up
        # gives the confident argmax that a trained model has, so greedy is stable.
        with torch.no_grad():
            model.lm_head.weight.mul_(30)
        n_params = sum(p.numel() for p in model.parameters()) / 1e9
        engine = TransformersEngine(model=model, n_ctx=8192, exact=True, device="cuda")
        prompt = torch.randint(0, cfg.vocab_size, (2000,), generator=torch.Generator().manual_seed(1)).tolist()
        generate(engine, prompt[:64], max_new_tokens=16)  # warm-up (kernels, allocator)

        def run(drafter=None):
            sched = AdaptiveDraftLength(initial=8, minimum=1, maximum=64)
            return generate(engine, prompt, max_new_tokens=args.tokens, drafter=drafter, schedule=sched,
                            reuse_cache=drafter is not None)

        plain, t_plain = timed(run)
        oracle, t_oracle = timed(lambda: run(CopyDrafter([plain.tokens])))
        edit, t_edit = timed(lambda: run(CopyDrafter([edited(plain.tokens, cfg.vocab_size)])))
        # verify cost curve at ~2k context
        engine.truncate(0)
        engine.forward(prompt, last_only=True)
        curve = {}
        for k in (1, 4, 16, 64):
            ts = []
            for _ in range(5):
                _, t = timed(lambda: engine.forward(prompt[:k]))
                engine.truncate(len(prompt))
                ts.append(t)
            curve[k] = round(1000 * sorted(ts)[2], 2)
        dec = lambda g: g.stats.decode_seconds  # noqa: E731
        row = {
            "params_billion": round(n_params, 2),
            "prefill_tok_s": round(len(prompt) / plain.stats.prefill_seconds),
            "plain_tok_s": round(len(plain.tokens) / dec(plain), 1),
            "oracle_tok_s": round(len(oracle.tokens) / dec(oracle), 1),
            "oracle_speedup": round(dec(plain) / dec(oracle), 2),
            "oracle_tokens_per_pass": round(oracle.stats.tokens_per_pass, 1),
            "edited_draft_speedup": round(dec(plain) / dec(edit), 2),
            "edited_tokens_per_pass": round(edit.stats.tokens_per_pass, 1),
            "identical_oracle": oracle.tokens == plain.tokens,
            "identical_edited": edit.tokens == plain.tokens,
            "first_divergence_margin": None,
            "verify_ms_by_k": curve,
            "output_tokens": len(plain.tokens),
        }
        for other in (oracle, edit):
            if other.tokens != plain.tokens:
                i = next(i for i, (a, b) in enumerate(zip(plain.tokens, other.tokens)) if a != b)
                row["first_divergence_margin"] = f"token {i}"
        results[size] = row
        print(size, json.dumps(row), flush=True)
        del engine, model
        torch.cuda.empty_cache()
    print(json.dumps({"device": torch.cuda.get_device_name(), "dtype": args.dtype, "results": results}))


if __name__ == "__main__":
    main()
