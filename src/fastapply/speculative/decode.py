"""Decoding, layered top to bottom: prefill -> decode one -> verify a draft -> generate.

``generate`` with no drafter is plain greedy decoding; with a drafter it is speculative
decoding that emits exactly the same tokens (see verify.py), in fewer forward passes.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields

from .drafters import Drafter
from .schedule import AdaptiveDraftLength
from .verify import accept_greedy

# stop(out) -> how many tokens of `out` to keep if generation should stop now, else None.
StopFn = Callable[[list[int]], "int | None"]
# on_step(new_tokens, stats) after every forward pass, the prefill included: for streaming and progress.
StepFn = Callable[[list[int], "DecodeStats"], None]


@dataclass
class DecodeStats:
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # prompt prefix reused from the KV cache, not evaluated
    output_tokens: int = 0
    forward_passes: int = 0  # decode passes, prefill excluded
    drafted_tokens: int = 0  # draft tokens sent for verification
    accepted_tokens: int = 0  # draft tokens the model agreed with
    accept_hist: dict[int, int] = field(default_factory=dict)  # accepted length -> passes (non-empty drafts)
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    stop_reason: str = ""  # "stop" | "eos" | "length" | "context"

    @property
    def tokens_per_second(self) -> float:
        return self.output_tokens / self.decode_seconds if self.decode_seconds > 0 else 0.0

    @property
    def tokens_per_pass(self) -> float:
        return self.output_tokens / self.forward_passes if self.forward_passes else 0.0

    @property
    def acceptance_rate(self) -> float:
        return self.accepted_tokens / self.drafted_tokens if self.drafted_tokens else 0.0

    @property
    def prefill_tokens_per_second(self) -> float:
        evaluated = self.prompt_tokens - self.cached_prompt_tokens
        return evaluated / self.prefill_seconds if self.prefill_seconds > 0 else 0.0

    def add(self, part: "DecodeStats") -> None:
        """Count another generation into this one (the windows of one file): sums, merged
        histogram, the last stop reason."""
        for f in fields(self):
            value = getattr(part, f.name)
            if f.name == "accept_hist":
                for k, v in value.items():
                    self.accept_hist[k] = self.accept_hist.get(k, 0) + v
            elif f.name == "stop_reason":
                self.stop_reason = value
            else:
                setattr(self, f.name, getattr(self, f.name) + value)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["accept_hist"] = {str(k): v for k, v in sorted(self.accept_hist.items())}
        for name in ("tokens_per_second", "tokens_per_pass", "acceptance_rate", "prefill_tokens_per_second"):
            d[name] = getattr(self, name)
        return d


@dataclass
class Generation:
    tokens: list[int]  # [output_tokens] emitted ids, stop/eos token excluded
    stats: DecodeStats
    margins: list[float] | None = None  # [output_tokens] top-1 minus top-2 logit per token


def prefill(engine, prompt: Sequence[int], *, reuse_cache: bool = True) -> tuple[int, float, int]:
    """Fill the KV cache with the prompt; return the first greedy token, its margin and
    how many prompt tokens were already cached.

    A cached prefix is kept (the fixed instructions, or the same file applied again): only
    the rest is evaluated. The last prompt token is always evaluated, for its logits.
    """
    keep = 0
    if reuse_cache:
        cached = engine.cached
        limit = min(len(cached), len(prompt) - 1)
        while keep < limit and cached[keep] == prompt[keep]:
            keep += 1
    engine.truncate(keep)
    g = engine.forward(prompt[keep:], last_only=True)
    return int(g.tokens[-1]), float(g.margins[-1]), keep


def verify(engine, pending: int, draft: Sequence[int]) -> tuple[list[int], list[float], int]:
    """One forward pass over ``[pending] + draft``; keep what greedy decoding would emit.

    ``pending`` is the last emitted token, not yet in the KV cache. Returns the new tokens
    (accepted draft + bonus), their margins and the number of accepted draft tokens.
    With an empty draft this is plain decoding of one token.
    """
    start = engine.n_past
    g = engine.forward([pending, *draft])
    n, bonus = accept_greedy(draft, g.tokens)
    if n < len(draft):
        engine.truncate(start + 1 + n)  # drop the rejected draft tokens from the cache
    return [*draft[:n], bonus], [float(m) for m in g.margins[: n + 1]], n


def generate(
    engine,
    prompt: Sequence[int],
    *,
    max_new_tokens: int,
    drafter: Drafter | None = None,
    schedule: AdaptiveDraftLength | None = None,
    stop: StopFn | None = None,
    on_step: StepFn | None = None,
    record_margins: bool = False,
    reuse_cache: bool = True,
) -> Generation:
    """Greedy generation, speculative when a drafter is given; returns tokens and stats."""
    stats = DecodeStats(prompt_tokens=len(prompt))
    schedule = schedule or AdaptiveDraftLength()
    eos = engine.eos_tokens
    hist: Counter[int] = Counter()

    t0 = time.perf_counter()
    first, margin, stats.cached_prompt_tokens = prefill(engine, prompt, reuse_cache=reuse_cache)
    stats.prefill_seconds = time.perf_counter() - t0
    out, margins = [first], [margin]
    new = [first]
    if on_step is not None:  # the prefill's token is the answer's first: a stream starts with it
        stats.output_tokens = 1
        on_step(new, stats)

    t0 = time.perf_counter()
    while True:
        # Stop checks on what was just emitted; a verified chunk can hold the stop string
        # and EOS after it, and plain decoding would have stopped at whichever came first.
        cuts = []
        if stop is not None and (keep := stop(out)) is not None:
            cuts.append((keep, 0, "stop"))
        if any(t in eos for t in new):
            cuts.append((len(out) - len(new) + next(i for i, t in enumerate(new) if t in eos), 1, "eos"))
        if cuts:
            keep, _, stats.stop_reason = min(cuts)
            del out[keep:], margins[keep:]
            break
        if len(out) >= max_new_tokens:
            stats.stop_reason = "length"
            break
        room = min(engine.n_ctx - engine.n_past - 1, max_new_tokens - len(out))
        if room <= 0:
            stats.stop_reason = "context"
            break
        if drafter is not None:
            drafter.advance(new)
            draft = drafter.propose(min(schedule.next(), room - 1))
        else:
            draft = []
        new, new_margins, n = verify(engine, out[-1], draft)
        out += new
        margins += new_margins
        stats.forward_passes += 1
        if draft:
            stats.drafted_tokens += len(draft)
            stats.accepted_tokens += n
            hist[n] += 1
            schedule.observe(len(draft), n)
        if on_step is not None:
            stats.output_tokens = len(out)
            stats.decode_seconds = time.perf_counter() - t0
            on_step(new, stats)
    stats.decode_seconds = time.perf_counter() - t0
    stats.output_tokens = len(out)
    stats.accept_hist = dict(hist)
    return Generation(out, stats, margins if record_margins else None)
