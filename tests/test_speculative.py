"""The speculative core on token ids: drafter, schedule, verification, generation."""
from __future__ import annotations

import pytest

from fastapply.speculative import AdaptiveDraftLength, CopyDrafter, accept_greedy, generate
from toy_engine import ToyEngine


# -- verify.accept_greedy: the docstring's worked examples -------------------------------

def test_accept_greedy_partial():
    # Model agrees on 5, 7, then wants 4 instead of 9: 9 and 2 are rejected.
    assert accept_greedy([5, 7, 9, 2], [5, 7, 4, 8, 1]) == (2, 4)


def test_accept_greedy_empty_draft_is_plain_decoding():
    assert accept_greedy([], [3]) == (0, 3)


def test_accept_greedy_full_acceptance_gets_bonus():
    assert accept_greedy([1, 2], [1, 2, 9]) == (2, 9)


def test_accept_greedy_needs_one_more_greedy_token():
    with pytest.raises(ValueError):
        accept_greedy([1, 2], [1, 2])


# -- drafters.CopyDrafter: the docstring's worked example ---------------------------------

def test_copy_drafter_docstring_example():
    d = CopyDrafter([[1, 2, 3, 4, 5, 6], [9, 3, 8, 7]], ngram_min=2, ngram_max=2)
    assert d.propose(3) == [1, 2, 3]
    d.advance([1, 2, 3])
    assert d.propose(2) == [4, 5]
    d.advance([8])  # model wrote 8, not 4; tail [3, 8] occurs in source 1
    assert d.propose(2) == [7]
    d.advance([7, 4])  # source 1 used up; tail [7, 4] nowhere
    assert d.propose(2) == []  # empty draft: plain decoding, never an error
    d.advance([5])  # tail [4, 5] ahead of source 0's last position
    assert d.propose(2) == [6]


def test_copy_drafter_prefers_forward_match():
    # [7, 8] occurs twice in the source; after copying past the first, the second wins.
    src = [7, 8, 1, 2, 3, 7, 8, 4, 5]
    d = CopyDrafter([src], ngram_min=2, ngram_max=2)
    d.advance([7, 8, 1, 2, 3])
    d.advance([0])  # diverge
    d.advance([7, 8])  # forward occurrence ends at 7 -> propose 4, 5 (not 1, 2)
    assert d.propose(2) == [4, 5]


def test_copy_drafter_backward_match_when_nothing_ahead():
    src = [7, 8, 1, 2, 3, 4]
    d = CopyDrafter([src], ngram_min=2, ngram_max=2)
    d.advance([7, 8, 1, 2, 3, 4, 0])  # copied everything, then diverged
    d.advance([7, 8])  # the code repeats an earlier block
    assert d.propose(3) == [1, 2, 3]


def test_copy_drafter_longer_ngram_wins():
    # The 3-gram [5, 1, 2] pins the second occurrence although [1, 2] alone is ambiguous.
    src = [1, 2, 9, 9, 5, 1, 2, 6]
    d = CopyDrafter([src], ngram_min=2, ngram_max=3)
    d.advance([0, 5, 1, 2])
    assert d.propose(1) == [6]


def test_copy_drafter_no_sources():
    d = CopyDrafter([])
    assert d.propose(4) == []
    d.advance([1, 2, 3])
    assert d.propose(4) == []


# -- schedule.AdaptiveDraftLength: the docstring's worked example -------------------------

def test_schedule_docstring_example():
    s = AdaptiveDraftLength(initial=8, minimum=1, maximum=64, growth=2, max_backoff=16)
    assert s.next() == 8
    s.observe(8, 8)  # full: grow
    assert s.next() == 16
    s.observe(16, 5)  # partial: restart small
    assert s.next() == 1
    s.observe(1, 0)  # failed outright: skip one step
    assert s.next() == 0
    assert s.next() == 1
    s.observe(1, 0)  # failed again: skip two
    assert [s.next(), s.next()] == [0, 0]
    assert s.next() == 1
    s.observe(1, 1)  # full: grow, back-off cleared
    assert s.next() == 2


def test_schedule_caps_growth_and_backoff():
    s = AdaptiveDraftLength(initial=32, minimum=1, maximum=64, max_backoff=4)
    s.observe(32, 32)
    s.observe(64, 64)
    assert s.next() == 64
    s.observe(0, 0)  # plain decoding step: no change
    assert s.next() == 64
    waits = []
    for _ in range(5):
        s.observe(1, 0)
        n = 0
        while s.next() == 0:
            n += 1
        waits.append(n)
    assert waits == [1, 2, 4, 4, 4]


# -- decode.generate against a toy engine: speculative == greedy ------------------------

def _greedy_reference(engine: ToyEngine, prompt: list[int], n: int) -> list[int]:
    seq = list(prompt)
    for _ in range(n):
        seq.append(engine.next_token(seq[-2] if len(seq) > 1 else 0, seq[-1]))
    return seq[len(prompt):]


@pytest.mark.parametrize("corrupt", [0, 1, 5, 40])
def test_speculative_equals_greedy_on_toy_engine(corrupt):
    engine = ToyEngine()
    prompt = [3, 1, 4, 1, 5]
    truth = _greedy_reference(engine, prompt, 300)
    # The draft source is the true output with `corrupt` tokens changed: the drafter must
    # diverge, re-sync and still yield exactly the greedy sequence.
    source = list(truth)
    for i in range(corrupt):
        source[(i * 37 + 11) % len(source)] = (source[(i * 37 + 11) % len(source)] + 1) % engine.vocab
    plain = generate(ToyEngine(), prompt, max_new_tokens=300)
    spec = generate(engine, prompt, max_new_tokens=300, drafter=CopyDrafter([source]))
    assert plain.tokens == truth
    assert spec.tokens == truth
    assert plain.stats.forward_passes == 299  # the first token comes from the prefill
    assert spec.stats.forward_passes < plain.stats.forward_passes
    assert spec.stats.accepted_tokens <= spec.stats.drafted_tokens
    assert sum(spec.stats.accept_hist.values()) <= spec.stats.forward_passes
    assert engine.n_past == len(prompt) + 299  # rejected tokens were rolled back


def test_perfect_draft_uses_few_passes():
    engine = ToyEngine()
    truth = _greedy_reference(engine, [1, 2], 200)
    spec = generate(engine, [1, 2], max_new_tokens=200, drafter=CopyDrafter([truth]))
    assert spec.tokens == truth
    assert spec.stats.accepted_tokens == spec.stats.drafted_tokens
    assert spec.stats.forward_passes <= 8  # 8 + 16 + 32 + 64 + 64 + ... with bonus tokens


def test_generate_stops_at_eos_and_stop_callback():
    engine = ToyEngine(eos=49)
    truth = _greedy_reference(ToyEngine(), [1, 2], 500)
    cut = truth.index(49) if 49 in truth else None
    gen = generate(engine, [1, 2], max_new_tokens=500, drafter=CopyDrafter([truth]))
    if cut is not None:
        assert gen.tokens == truth[:cut] and gen.stats.stop_reason == "eos"
    # A stop callback that ends after the 10th token, even mid-draft.
    gen = generate(ToyEngine(), [1, 2], max_new_tokens=500, drafter=CopyDrafter([truth]),
                   stop=lambda out: 10 if len(out) >= 10 else None)
    assert gen.tokens == truth[:10] and gen.stats.stop_reason == "stop"


def test_generate_respects_context_window():
    engine = ToyEngine(n_ctx=40)
    truth = _greedy_reference(ToyEngine(), [1, 2], 100)
    gen = generate(engine, [1, 2], max_new_tokens=1000, drafter=CopyDrafter([truth]))
    assert gen.stats.stop_reason == "context"
    assert gen.tokens == truth[: len(gen.tokens)]
    assert engine.n_past <= 40


def test_prefill_reuses_the_cached_prefix():
    engine = ToyEngine()
    first = generate(engine, [1, 2, 3, 4], max_new_tokens=20)
    # Same prompt prefix, new ending: only the differing tail is evaluated.
    again = generate(engine, [1, 2, 3, 9], max_new_tokens=20)
    assert again.stats.cached_prompt_tokens == 3
    assert again.tokens == generate(ToyEngine(), [1, 2, 3, 9], max_new_tokens=20).tokens
    # Identical prompt: all but the last token reused (its logits are needed).
    same = generate(engine, [1, 2, 3, 4], max_new_tokens=20)
    assert same.stats.cached_prompt_tokens == 3 and same.tokens == first.tokens
    fresh = generate(engine, [1, 2, 3, 4], max_new_tokens=20, reuse_cache=False)
    assert fresh.stats.cached_prompt_tokens == 0 and fresh.tokens == first.tokens
