"""Plain chat completions on the engine, with a per-request draft (OpenAI's ``prediction``).

The request's ``prediction`` is the first draft source of a ``CopyDrafter``; when the
messages are an apply prompt, the file and the snippet follow it (what the model copies
when the prediction runs out or diverges). Verification is greedy, so the text is the
model's own greedy answer with or without a prediction -- only the number of forward
passes changes (tests/test_server.py checks both ways give the same text).

``TextStream`` turns the tokens of each verified run into text that is safe to send:
whole UTF-8 characters only, and nothing a stop sequence could still claim, so the
streamed pieces always add up to the final text.
"""
from __future__ import annotations

import codecs
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import prompt
from ..errors import ContextTooLong
from ..speculative import DecodeStats, generate, make_drafter
from .worker import Cancelled


class TextStream:
    """Tokens of each verified run in, sendable text out.

    ``generate`` reports a run before its stop checks, so a run can hold an end-of-sequence
    token or a stop sequence with more tokens after it: the text is cut at both, and the
    last ``hold`` characters (at least the longest stop sequence) stay back in case they
    begin one.

    Example (stops=["</x>"], hold=4): push the tokens of "ab</" -> "" (may start "</x>");
    push "x>cd" -> "ab" (cut at the stop); ``finish("ab")`` -> "" (all of it was sent).
    """

    def __init__(self, detokenize: Callable[[Sequence[int]], bytes], *, stops: Sequence[str] = (),
                 eos: frozenset[int] = frozenset(), hold: int = 0) -> None:
        self.detokenize, self.stops, self.eos = detokenize, list(stops), eos
        self.hold = max([hold, *map(len, self.stops)])
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""  # decoded so far
        self.sent = 0  # characters of it handed out
        self.ended = False  # an end-of-sequence token was seen

    def push(self, tokens: Sequence[int]) -> str:
        if self.ended:
            return ""
        for i, tok in enumerate(tokens):
            if tok in self.eos:
                tokens, self.ended = tokens[:i], True
                break
        self.text += self._decoder.decode(self.detokenize(tokens))
        limit = len(self.text) - self.hold
        for stop in self.stops:
            if (at := self.text.find(stop)) >= 0:
                limit = min(limit, at)
        safe = max(self.sent, limit)
        piece, self.sent = self.text[self.sent : safe], safe
        return piece

    def finish(self, final: str) -> str | None:
        """The rest of ``final`` after what was sent; None if ``final`` does not continue it
        (the caller then has to say so: text already sent cannot be taken back)."""
        if not final.startswith(self.text[: self.sent]):
            return None
        return final[self.sent :]


class StopStrings:
    """``generate``'s stop callback for OpenAI ``stop`` sequences: stop once one appears."""

    def __init__(self, detokenize: Callable[[Sequence[int]], bytes], stops: Sequence[str]) -> None:
        self._tags = [prompt.StopAtTag(detokenize, s) for s in stops]

    def __call__(self, out: list[int]) -> int | None:
        hits = [k for tag in self._tags if (k := tag(out)) is not None]
        return min(hits) if hits else None


def cut_at_stops(text: str, stops: Sequence[str]) -> str:
    """OpenAI returns the text before the first stop sequence, the sequence excluded."""
    ends = [i for s in stops if (i := text.find(s)) >= 0]
    return text[: min(ends)] if ends else text


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop" | "length"
    stats: DecodeStats


def complete(
    engine,
    speculative,
    messages: list[dict[str, str]],
    *,
    prediction: str | None,
    apply_sources: tuple[str, str] | None,
    max_tokens: int | None,
    stops: Sequence[str],
    cancel: threading.Event,
    on_text: Callable[[str], None] | None = None,
) -> Completion:
    """One greedy chat completion; ``apply_sources`` = (file, snippet) of an apply prompt."""
    ids = engine.tokenize(engine.chat_prompt(messages), special=True)
    room = engine.n_ctx - len(ids)
    if room < 1:
        raise ContextTooLong(len(ids) + 1, engine.n_ctx, f" ({len(ids)} prompt tokens)")
    budget = min(max_tokens or room, room)
    sources = []
    if prediction:
        sources.append(engine.tokenize(prediction))
    if apply_sources is not None:
        original, snippet = apply_sources
        # As the model would write the whole answer, opening tag included: without the
        # CLI's prefill the answer may start with the tag, and copying starts at sources' starts.
        sources.append(engine.tokenize(prompt.answer_prefix() + prompt.expected_answer(original)))
        sources.append(engine.tokenize(prompt.render(snippet)))
    drafter, schedule = make_drafter(speculative, sources or None)
    stream = TextStream(engine.detokenize, stops=stops, eos=engine.eos_tokens)

    def on_step(new: list[int], _stats) -> None:
        if cancel.is_set():
            raise Cancelled()
        if on_text is not None and (piece := stream.push(new)):
            on_text(piece)

    gen = generate(engine, ids, max_new_tokens=budget, drafter=drafter, schedule=schedule,
                   stop=StopStrings(engine.detokenize, stops) if stops else None, on_step=on_step)
    text = cut_at_stops(engine.detokenize(gen.tokens).decode("utf-8", errors="replace"), stops)
    if on_text is not None:
        rest = stream.finish(text)
        if rest:  # always a continuation here: the hold covers every stop sequence
            on_text(rest)
    reason = "length" if gen.stats.stop_reason in ("length", "context") else "stop"
    return Completion(text, reason, gen.stats)
