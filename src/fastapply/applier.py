"""Apply one edit with a model: prompt -> speculative generation -> extraction -> guards.

``Applier`` holds a loaded engine and applies many edits; ``fastapply.apply`` is the
one-call convenience around it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from . import prompt
from .backends import load_engine
from .errors import ContextTooLong, InputError, OutputRejected
from .markers import is_marker
from .merge import merge
from .models import resolve
from .settings import Settings
from .spec import AdaptiveDraftLength, CopyDrafter, DecodeStats, generate


@dataclass
class ApplyResult:
    text: str  # the updated file
    stats: DecodeStats
    answer: str  # the model's raw answer after the prefilled opening tag ("" without a model)
    model: str
    margins: list[float] | None = None  # [output_tokens], when asked for
    # Who wrote `text`: "model"; "merge" (merge mode); in auto mode "merge-confident" (a merge
    # the model was not needed for) or "merge-fallback" (the model's answer was unusable).
    source: str = "model"
    notes: list[str] = field(default_factory=list)  # merge reasons, why a fallback happened


class StopAtTag:
    """Stop callback for ``generate``: keep tokens up to the one completing the closing tag.

    Detokenizes incrementally (bytes, since a token may end mid-character) so the check
    costs O(new tokens) per step.
    """

    def __init__(self, detokenize: Callable[[list[int]], bytes], tag: str = prompt.CLOSE_TAG) -> None:
        self.detokenize, self.tag = detokenize, tag.encode()
        self.buf = bytearray()
        self.ends: list[int] = []  # ends[i] = byte length after token i

    def __call__(self, out: list[int]) -> int | None:
        start_search = max(0, len(self.buf) - len(self.tag))
        for tok in out[len(self.ends):]:
            self.buf += self.detokenize([tok])
            self.ends.append(len(self.buf))
        at = self.buf.find(self.tag, start_search)
        if at < 0:
            return None
        end = at + len(self.tag)
        return next(i + 1 for i, e in enumerate(self.ends) if e >= end)


def check_snippet(snippet: str) -> None:
    if not snippet.strip():
        raise InputError("the edit snippet is empty")
    if all(is_marker(line) or not line.strip() for line in snippet.splitlines()):
        raise InputError("the edit snippet has no code, only elision markers such as '... existing code ...'")


def leaked_markers(result: str, original: str, snippet: str) -> list[str]:
    """Marker lines in the result that stand for code instead of being code.

    A marker line already in the original (e.g. ``...`` in a Python stub) may stay.
    """
    before = Counter(line.strip() for line in original.splitlines() if is_marker(line))
    after = Counter(line.strip() for line in result.splitlines() if is_marker(line))
    return sorted((after - before).elements())


# Share of the original's lines an answer may drop that the snippet does not account for.
# Continue's deterministic apply uses the same 30% bound; the merge refuses beyond it too.
MASS_DELETION = 0.3


def _nonblank(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def lost_lines(result: str, original: str, snippet: str) -> int:
    """Original non-blank lines missing from the result and absent from the snippet.

    A lazy snippet shows deleted code only by leaving it out, so this over-counts real
    deletions a little; it is a guard against mass loss, not an edit check.
    """
    kept = Counter(line.strip() for line in result.splitlines() if line.strip())
    kept.update(line.strip() for line in snippet.splitlines() if line.strip())
    before = Counter(line.strip() for line in original.splitlines() if line.strip())
    return sum((before - kept).values())


def missing_snippet_lines(result: str, snippet: str) -> list[str]:
    """The snippet's code lines (stripped) that the result lacks, in snippet order.

    A lazy snippet shows new and context code only, never deleted code, so every line of it
    belongs in the result: true of all 593 benchmark edits. An answer lacking one did not
    apply the edit (it returned the original, or stopped short of a hunk).
    """
    have = {line.strip() for line in result.splitlines()}
    out: list[str] = []
    for line in snippet.splitlines():
        code = line.strip()
        if code and not is_marker(line) and code not in have and code not in out:
            out.append(code)
    return out


def guard_failure(text: str, original: str, snippet: str) -> tuple[str, str] | None:
    """(kind, message) of the first guard an extracted answer fails, or None when it may be
    written. Kinds: "leaked-markers", "mass-deletion", "snippet-not-applied"."""
    leaks = leaked_markers(text, original, snippet)
    if leaks:
        return "leaked-markers", (f"the model copied {len(leaks)} elision marker line(s) into the file instead of "
                                  f"the code they stand for (first: {leaks[0]!r})")
    lost = lost_lines(text, original, snippet)
    if lost > MASS_DELETION * max(1, _nonblank(original)):
        return "mass-deletion", (f"the model's answer drops {lost} of the original's {_nonblank(original)} non-blank "
                                 "lines that the snippet does not delete (a truncated or garbled rewrite)")
    missing = missing_snippet_lines(text, snippet)
    if missing:
        return "snippet-not-applied", (f"the model's answer lacks {len(missing)} line(s) of the snippet (first: "
                                       f"{missing[0]!r}), so the edit was not applied")
    return None


def answer_problem(text: str, original: str, snippet: str) -> str | None:
    """Why an extracted answer must not be written, or None when it may."""
    failure = guard_failure(text, original, snippet)
    return failure[1] if failure else None


class Applier:
    """Applies edits by the settings' mode; loads the model on first use (merge mode never does).

    Not thread-safe: one model, one sequence, one KV cache.
    """

    def __init__(self, settings: Settings | None = None, *, engine=None) -> None:
        self.settings = settings or Settings()
        self._engine = engine

    @property
    def engine(self):
        if self._engine is None:
            s = self.settings
            path, spec = resolve(s.model, s.cache_dir)
            adapter = s.adapter if s.adapter is not None else (spec.adapter_path() if spec else None)
            extra = {"adapter": str(adapter)} if adapter and str(adapter).lower() != "none" else {}
            self._engine = load_engine(s.backend, str(path), n_ctx=s.n_ctx, threads=s.threads, exact=s.exact, **extra)
        return self._engine

    def prompt_tokens(self, original: str, snippet: str, instruction: str | None = None) -> list[int]:
        text = self.engine.chat_prompt(prompt.messages(original, snippet, instruction)) + prompt.answer_prefix()
        return self.engine.tokenize(text, special=True)

    def apply(
        self,
        original: str,
        snippet: str,
        instruction: str | None = None,
        *,
        path: str | None = None,
        mode: str | None = None,
        speculation: bool = True,
        on_step=None,
        record_margins: bool = False,
    ) -> ApplyResult:
        """Apply ``snippet`` to ``original``. ``path`` only names the language for the merge."""
        check_snippet(snippet)
        mode = mode or self.settings.mode
        if mode == "model":
            return self._rewrite_or_windows(original, snippet, instruction, path=path, speculation=speculation,
                                            on_step=on_step, record_margins=record_margins)
        merged = merge(original, snippet, path=path)
        if mode == "merge":
            if not merged.ok:
                raise OutputRejected("the deterministic merge refused: " + "; ".join(merged.reasons))
            return ApplyResult(merged.text, DecodeStats(), "", "merge", source="merge", notes=merged.reasons)
        if mode != "auto":
            raise ValueError(f"unknown mode {mode!r}")
        trusted = merged.ok and merged.confidence >= self.settings.merge_min_confidence
        if trusted and self.settings.auto_prefer == "merge":
            # The merge would win any disagreement, so the model's answer cannot change what
            # is written: skip it (seconds per file on a CPU) rather than run it for nothing.
            return ApplyResult(merged.text, DecodeStats(), "", "merge", source="merge-confident",
                               notes=[f"confidence {merged.confidence:.2f}, so the model was not run; "
                                      "--auto-prefer model has it verify the merge", *merged.reasons])
        try:
            result = self._rewrite_or_windows(original, snippet, instruction, path=path, speculation=speculation,
                                              on_step=on_step, record_margins=record_margins, draft=merged.text)
        except (OutputRejected, ContextTooLong) as exc:
            if merged.ok and merged.confidence >= self.settings.merge_min_confidence:
                stats = getattr(exc, "stats", None) or DecodeStats()
                return ApplyResult(merged.text, stats, getattr(exc, "text", ""), self.settings.model,
                                   source="merge-fallback", notes=[f"model answer unusable: {exc}", *merged.reasons])
            why = "; ".join(merged.reasons) or "no merge"
            raise type(exc)(f"{exc}; the deterministic merge cannot stand in ({why})", getattr(exc, "text", "")) \
                if isinstance(exc, OutputRejected) else exc
        result.notes = merged.reasons
        return result

    def _rewrite_or_windows(self, original: str, snippet: str, instruction: str | None, *, path, **kw) -> ApplyResult:
        """The whole file, or windows around the edits when it does not fit the context
        (or is at least ``window_min_lines`` long and the edits can be localised)."""
        from .windows import Unlocalisable, rewrite_windows

        limit = self.settings.window_min_lines
        radius = self.settings.window_radius
        if limit and len(original.splitlines()) >= limit:
            try:
                return rewrite_windows(self, original, snippet, instruction, path=path, radius=radius, **kw)
            except Unlocalisable:
                pass  # the whole file, as if windows were off
        try:
            return self.rewrite(original, snippet, instruction, **kw)
        except ContextTooLong:
            return rewrite_windows(self, original, snippet, instruction, path=path, radius=radius, **kw)

    def rewrite(
        self,
        original: str,
        snippet: str,
        instruction: str | None = None,
        *,
        speculation: bool = True,
        on_step=None,
        record_margins: bool = False,
        draft: str | None = None,
    ) -> ApplyResult:
        """The model rewrites the whole file; ``draft`` (a merged file) is copied from first."""
        s = self.settings
        engine = self.engine
        ids = self.prompt_tokens(original, snippet, instruction)
        file_ids = engine.tokenize(prompt.expected_answer(original))
        needed = len(ids) + len(file_ids)
        if needed > engine.n_ctx:
            raise ContextTooLong(needed, engine.n_ctx, f" ({len(ids)} prompt + {len(file_ids)} for the file)")
        snippet_ids = engine.tokenize(prompt.render(snippet))
        # The answer is the original with the snippet's code put in: it cannot honestly be
        # much longer than both together. A model that rambles on is stopped there.
        budget = min(engine.n_ctx - len(ids), int(1.1 * (len(file_ids) + len(snippet_ids))) + 64)
        drafter = None
        if speculation:
            # Copy the merge if there is one, else the original; new code mostly comes
            # from the snippet.
            sources = [file_ids, snippet_ids]
            if draft is not None:
                sources.insert(0, engine.tokenize(prompt.expected_answer(draft)))
            drafter = CopyDrafter(sources, ngram_min=s.ngram_min, ngram_max=s.ngram_max)
        gen = generate(
            engine,
            ids,
            max_new_tokens=budget,
            drafter=drafter,
            schedule=AdaptiveDraftLength(s.draft_initial, s.draft_min, s.draft_max),
            stop=StopAtTag(engine.detokenize),
            on_step=on_step,
            record_margins=record_margins,
        )
        answer = engine.detokenize(gen.tokens).decode("utf-8", errors="replace")
        text = prompt.extract(answer, original)
        if text is None:
            why = {"eos": "ended its answer", "length": "hit the token limit", "context": "ran out of context"}
            raise OutputRejected(
                f"the model {why.get(gen.stats.stop_reason, 'stopped')} before closing {prompt.CLOSE_TAG} "
                f"after {gen.stats.output_tokens} tokens; the file was not changed",
                answer,
                gen.stats,
            )
        problem = answer_problem(text, original, snippet)
        if problem:
            raise OutputRejected(f"{problem}; the file was not changed", answer, gen.stats)
        return ApplyResult(text, gen.stats, answer, s.model, gen.margins)
