"""Apply one edit: choose who writes the file (merge, model, or both), run it, guard it.

The request path, top to bottom (docs/architecture.md draws it):

    check inputs -> merge -> [model: prompt -> drafter -> generate -> extract] -> guards

``Applier`` holds one engine (loaded on first use: merge mode never loads one) and applies
many edits; ``fastapply.apply`` is the one-call convenience around it. Files beyond the
model's context are rewritten in windows (``windows.plan`` / ``windows.stitch``); the loop
over the windows is here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import guards, indentation, prompt, windows
from .errors import ContextTooLong, OutputRejected
from .languages import detect
from .merge import MergeResult, merge
from .models import load
from .settings import EngineSettings, Settings
from .speculative import DecodeStats, generate, make_drafter


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
    confidence: float | None = None  # the merge's confidence where a merge ran (merge, auto modes)


EngineLoader = Callable[[EngineSettings, str], object]


class Applier:
    """Applies edits by the settings' policy; loads the engine on first use.

    ``load`` makes the engine from ``settings.engine`` (the Python API passes a cached one,
    so settings that differ only in policy share a model). Not thread-safe: one model, one
    sequence, one KV cache.
    """

    def __init__(self, settings: Settings | None = None, *, engine=None, load: EngineLoader = load) -> None:
        self.settings = settings or Settings()
        self._engine = engine
        self._load = load

    @property
    def engine(self):
        if self._engine is None:
            self._engine = self._load(self.settings.engine, self.settings.cache_dir)
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
        """Apply ``snippet`` to ``original``. ``path`` only names the language for the merge.

        Whatever would be written passes the output-validity guards (no new syntax errors,
        no mixed indentation in Python) unless ``allow_syntax_errors`` is set."""
        guards.check_inputs(original, snippet, instruction)
        guards.check_sizes(original, snippet, self.settings.policy.max_input_bytes)
        guards.check_snippet(snippet)
        guards.check_original(original)
        snippet = indentation.reindent(snippet, original, detect(path).name)
        result = self._apply(original, snippet, instruction, path=path, mode=mode, speculation=speculation,
                             on_step=on_step, record_margins=record_margins)
        if not self.settings.policy.allow_syntax_errors:
            failure = guards.output_failure(original, result.text, path)
            if failure:
                raise OutputRejected(f"{failure.message}; the file was not changed", result.answer, result.stats,
                                     kind=failure.kind)
        return result

    def _apply(self, original: str, snippet: str, instruction: str | None, *, path: str | None, mode: str | None,
               speculation: bool, on_step, record_margins: bool) -> ApplyResult:
        policy = self.settings.policy
        mode = mode or policy.mode
        run = dict(speculation=speculation, on_step=on_step, record_margins=record_margins)
        if mode == "model":
            return self._rewrite_or_windows(original, snippet, instruction, path=path, **run)
        merged = merge(original, snippet, path=path)
        if mode == "merge":
            if not merged.ok:
                raise OutputRejected("the deterministic merge refused: " + "; ".join(merged.reasons),
                                     kind=guards.MERGE_REFUSED)
            return ApplyResult(merged.text, DecodeStats(), "", "merge", source="merge", notes=merged.reasons,
                               confidence=merged.confidence)
        if mode != "auto":
            raise ValueError(f"unknown mode {mode!r}")
        result = self._auto(original, snippet, instruction, path, merged, run)
        result.confidence = merged.confidence
        return result

    def _auto(self, original, snippet, instruction, path, merged: MergeResult, run: dict) -> ApplyResult:
        policy = self.settings.policy
        trusted = merged.ok and merged.confidence >= policy.merge_min_confidence
        if trusted and policy.auto_prefer == "merge":
            # The merge would win any disagreement, so the model's answer cannot change what
            # is written: skip it (seconds per file on a CPU) rather than run it for nothing.
            return ApplyResult(merged.text, DecodeStats(), "", "merge", source="merge-confident",
                               notes=[f"confidence {merged.confidence:.2f}, so the model was not run; "
                                      "--auto-prefer model has it verify the merge", *merged.reasons])
        try:
            result = self._rewrite_or_windows(original, snippet, instruction, path=path, merged=merged, **run)
        except (OutputRejected, ContextTooLong) as exc:
            if trusted:
                stats = getattr(exc, "stats", None) or DecodeStats()
                return ApplyResult(merged.text, stats, getattr(exc, "text", ""), self.settings.engine.model,
                                   source="merge-fallback", notes=[f"model answer unusable: {exc}", *merged.reasons])
            if not isinstance(exc, OutputRejected):
                raise
            why = "; ".join(merged.reasons) or "no merge"
            raise OutputRejected(f"{exc}; the deterministic merge cannot stand in ({why})", exc.text, exc.stats,
                                 kind=exc.kind) from None
        result.notes = merged.reasons
        return result

    def _rewrite_or_windows(self, original: str, snippet: str, instruction: str | None, *, path,
                            merged: MergeResult | None = None, **run) -> ApplyResult:
        """The whole file, or windows around the edits when it does not fit the context
        (or is at least ``window_min_lines`` long and the edits can be localised). With
        ``merged`` (auto mode), the merge is the first draft source."""
        draft = merged.text if merged is not None else None
        limit = self.settings.policy.window_min_lines
        if limit and len(original.splitlines()) >= limit:
            try:
                return self._rewrite_windows(original, snippet, instruction, path, merged, run)
            except windows.Unlocalisable:
                pass  # the whole file, as if windows were off
        try:
            return self.rewrite(original, snippet, instruction, draft=draft, **run)
        except ContextTooLong:
            return self._rewrite_windows(original, snippet, instruction, path, merged, run)

    def _rewrite_windows(self, original, snippet, instruction, path, merged: MergeResult | None, run: dict) -> ApplyResult:
        """Rewrite only the windows around the snippet's edits and stitch them into the file.
        A window the model answers badly raises what ``rewrite`` raises: nothing is stitched."""
        with_draft = merged is not None
        merged = merged if merged is not None else merge(original, snippet, path=path)
        jobs = windows.plan(original, snippet, merged, self.settings.policy.window_radius, with_draft=with_draft)
        stats, answers, texts = DecodeStats(), [], []
        for job in jobs:
            result = self.rewrite(job.original, job.snippet, instruction, draft=job.draft, **run)
            stats.add(result.stats)
            answers.append(result.answer)
            texts.append(result.text)
        return ApplyResult(windows.stitch(original, jobs, texts), stats, "\n".join(answers), result.model,
                           source="model", notes=[windows.describe(jobs)])

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
        engine = self.engine
        if getattr(engine, "text_level", False):  # a remote API: text in, text out (backends/remote.py)
            out = engine.rewrite(original, snippet, instruction, draft=draft, speculation=speculation)
            return self._checked(out.text, out.answer, out.stats, original, snippet)
        ids = self.prompt_tokens(original, snippet, instruction)
        file_ids = engine.tokenize(prompt.expected_answer(original))
        needed = len(ids) + len(file_ids)
        if needed > engine.n_ctx:
            raise ContextTooLong(needed, engine.n_ctx, f" ({len(ids)} prompt + {len(file_ids)} for the file)")
        snippet_ids = engine.tokenize(prompt.render(snippet))
        # The answer is the original with the snippet's code put in: it cannot honestly be
        # much longer than both together. A model that rambles on is stopped there.
        budget = min(engine.n_ctx - len(ids), int(1.1 * (len(file_ids) + len(snippet_ids))) + 64)
        sources = None
        if speculation:
            # Copy the merge if there is one, else the original; new code mostly comes
            # from the snippet.
            sources = [file_ids, snippet_ids]
            if draft is not None:
                sources.insert(0, engine.tokenize(prompt.expected_answer(draft)))
        drafter, schedule = make_drafter(self.settings.speculative, sources)
        gen = generate(engine, ids, max_new_tokens=budget, drafter=drafter, schedule=schedule,
                       stop=prompt.StopAtTag(engine.detokenize), on_step=on_step, record_margins=record_margins)
        answer = engine.detokenize(gen.tokens).decode("utf-8", errors="replace")
        result = self._checked(prompt.extract(answer, original), answer, gen.stats, original, snippet)
        result.margins = gen.margins
        return result

    def _checked(self, text: str | None, answer: str, stats: DecodeStats, original: str, snippet: str) -> ApplyResult:
        """The answer's file as a result, or OutputRejected: no whole file, or a guard fails."""
        if text is None:
            why = {"eos": "ended its answer", "length": "hit the token limit", "context": "ran out of context"}
            raise OutputRejected(
                f"the model {why.get(stats.stop_reason, 'stopped')} before closing {prompt.CLOSE_TAG} "
                f"after {stats.output_tokens} tokens; the file was not changed",
                answer, stats, kind=guards.NOT_CLOSED,
            )
        failure = guards.guard_failure(text, original, snippet)
        if failure:
            raise OutputRejected(f"{failure.message}; the file was not changed", answer, stats, kind=failure.kind)
        return ApplyResult(text, stats, answer, self.settings.engine.model)
