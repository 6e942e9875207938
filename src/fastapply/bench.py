"""`fastapply bench`: plain greedy vs speculative edits vs llama-cpp-python's prompt lookup.

Everything is measured side by side in one run on the same tasks and the same model:

- plain:   greedy decoding, one token per forward pass (no draft);
- spec:    fastapply's speculative edits (CopyDrafter over the original and the snippet);
- peer:    llama-cpp-python's own ``LlamaPromptLookupDecoding`` (``Llama.generate``, greedy);
- oracle:  speculative edits whose draft is the model's own greedy answer: every draft
           token is accepted, so this is the engine's ceiling on this machine -- what a
           model that copies the unchanged code (a fine-tuned apply model) would get.

Prefill is the same computation for plain, spec and oracle (the prompt is identical), so
it is measured once and charged to each; the peer pays its own. Answers are capped at
``max_tokens`` so that a run over 20 files takes minutes, not hours, on a 2-core CPU.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import prompt
from .applier import Applier
from .prompt import StopAtTag
from .speculative import generate, make_drafter


@dataclass
class TaskBench:
    id: str
    lines: int
    prompt_tokens: int
    output_tokens: int
    prefill_s: float
    plain_s: float  # prefill + decode
    spec_s: float
    oracle_s: float
    peer_s: float | None
    spec_tokens_per_pass: float
    identical: bool  # speculative tokens == plain greedy tokens
    peer_identical: bool | None

    @property
    def speedup(self) -> float:
        return self.plain_s / self.spec_s

    @property
    def speedup_vs_peer(self) -> float | None:
        return self.peer_s / self.spec_s if self.peer_s else None

    @property
    def oracle_speedup(self) -> float:
        return self.plain_s / self.oracle_s

    @property
    def decode_speedup(self) -> float:  # prefill excluded: the part speculation acts on
        return (self.plain_s - self.prefill_s) / (self.spec_s - self.prefill_s)

    @property
    def oracle_decode_speedup(self) -> float:
        return (self.plain_s - self.prefill_s) / (self.oracle_s - self.prefill_s)


def _peer_generate(llm, ids: list[int], max_tokens: int, detokenize) -> tuple[list[int], float]:
    """Greedy decoding through llama-cpp-python's Llama.generate with its prompt-lookup draft."""
    stop = StopAtTag(detokenize)
    out: list[int] = []
    t0 = time.perf_counter()
    for tok in llm.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True):
        if tok == llm.token_eos() or len(out) >= max_tokens:
            break
        out.append(tok)
        if (keep := stop(out)) is not None:
            out = out[:keep]
            break
    return out, time.perf_counter() - t0


def load_peer(model_path: str, n_ctx: int, threads: int):
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    # logits_all=True as the draft path needs it (llama-cpp-python 0.3.36 forces it on
    # internally but sizes its score buffer from the argument). It keeps n_ctx x n_vocab
    # floats, so n_ctx is kept to what the tasks need.
    llm = Llama(model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False,
                logits_all=True, draft_model=LlamaPromptLookupDecoding(num_pred_tokens=10))
    return llm


def verify_cost_curve(engine, context: list[int], ks=(1, 4, 8, 16, 32, 64)) -> dict[int, float]:
    """Milliseconds to verify k tokens at the given context length (median of 3)."""
    engine.truncate(0)
    engine.forward(context, last_only=True)
    base = engine.n_past
    out = {}
    for k in ks:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            engine.forward(context[:k])
            times.append(time.perf_counter() - t0)
            engine.truncate(base)
        out[k] = 1000 * statistics.median(times)
    return out


def bench_task(applier: Applier, task, ids: list[int], max_tokens: int, peer=None) -> TaskBench:
    """One task four ways; ``ids`` is the task's prompt (``applier.prompt_tokens``)."""
    engine, s = applier.engine, applier.settings.speculative
    file_ids = engine.tokenize(prompt.expected_answer(task.original))
    snippet_ids = engine.tokenize(prompt.render(task.snippet))

    def run(sources):
        drafter, schedule = make_drafter(s, sources)
        return generate(engine, ids, max_new_tokens=max_tokens, drafter=drafter, schedule=schedule,
                        stop=StopAtTag(engine.detokenize), reuse_cache=drafter is not None)

    plain = run(None)  # fresh prefill: reuse_cache=False
    prefill = plain.stats.prefill_seconds
    spec = run([file_ids, snippet_ids])
    oracle = run([plain.tokens])
    peer_s = peer_identical = None
    if peer is not None:
        peer_tokens, peer_s = _peer_generate(peer, ids, max_tokens, engine.detokenize)
        peer_identical = peer_tokens == plain.tokens
    return TaskBench(
        id=task.id, lines=task.n_lines, prompt_tokens=len(ids), output_tokens=len(plain.tokens),
        prefill_s=prefill, plain_s=prefill + plain.stats.decode_seconds,
        spec_s=prefill + spec.stats.decode_seconds, oracle_s=prefill + oracle.stats.decode_seconds,
        peer_s=peer_s, spec_tokens_per_pass=spec.stats.tokens_per_pass,
        identical=spec.tokens == plain.tokens and oracle.tokens == plain.tokens,
        peer_identical=peer_identical,
    )


def summarize(rows: list[TaskBench]) -> dict:
    tot = lambda attr: sum(getattr(r, attr) for r in rows)  # noqa: E731
    prompt_tokens, out_tokens = tot("prompt_tokens"), tot("output_tokens")
    prefill_tps = prompt_tokens / tot("prefill_s")
    decode = lambda attr: out_tokens / (tot(attr) - tot("prefill_s"))  # noqa: E731
    peers = [r for r in rows if r.peer_s]
    return {
        "tasks": len(rows),
        "identity_rate": sum(r.identical for r in rows) / len(rows),
        "median_speedup": statistics.median(r.speedup for r in rows),
        "total_speedup": tot("plain_s") / tot("spec_s"),
        "median_speedup_vs_peer": statistics.median(r.speedup_vs_peer for r in peers) if peers else None,
        "peer_identity_rate": sum(bool(r.peer_identical) for r in peers) / len(peers) if peers else None,
        "median_decode_speedup": statistics.median(r.decode_speedup for r in rows),
        "median_oracle_speedup": statistics.median(r.oracle_speedup for r in rows),
        "median_oracle_decode_speedup": statistics.median(r.oracle_decode_speedup for r in rows),
        "prefill_tokens_per_second": prefill_tps,
        "plain_decode_tokens_per_second": decode("plain_s"),
        "spec_decode_tokens_per_second": decode("spec_s"),
        "oracle_decode_tokens_per_second": decode("oracle_s"),
        "spec_fraction_of_prefill": decode("spec_s") / prefill_tps,
        "oracle_fraction_of_prefill": decode("oracle_s") / prefill_tps,
        "tokens_per_pass": statistics.mean(r.spec_tokens_per_pass for r in rows),
    }


def run_bench(applier: Applier, tasks, prompts: list[list[int]], *, max_tokens: int, peer=None,
              on_task: Callable[[TaskBench], None] | None = None) -> tuple[list[TaskBench], list[str]]:
    """``prompts[i]`` is ``applier.prompt_tokens`` of ``tasks[i]`` (tokenized once by the caller)."""
    rows, skipped = [], []
    for task, ids in zip(tasks, prompts):
        if len(ids) + max_tokens > applier.engine.n_ctx:
            skipped.append(f"{task.id}: {len(ids)} prompt tokens + {max_tokens} exceed {applier.engine.n_ctx}")
            continue
        row = bench_task(applier, task, ids, max_tokens, peer)
        rows.append(row)
        if on_task:
            on_task(row)
    return rows, skipped
