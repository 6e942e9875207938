"""Run apply methods over benchmark tasks, score them, and keep the results resumable.

    from fastapply.evals.runner import run_eval
    records = run_eval(tasks, ["original", "splice", "merge", "model"], results=Path("r.jsonl"))

Methods:
- ``original``: floor 1, return the file unchanged.
- ``splice``: floor 2, a naive splice (see ``naive_splice``).
- ``merge``: fastapply's deterministic merge (no model).
- ``model``: the configured model alone (``--mode model``) with speculative decoding from the
  original and the snippet; on a sample of tasks (``speed_sample``) also plain greedy decoding
  (records of method ``model-greedy``), for the speedup and a losslessness check.
- ``auto``: ``--mode auto``: the model with the deterministic merge as its first draft source,
  guarded fallback to a confident merge. Its records say who wrote the file (``source``:
  model, merge-fallback, or none), and their decode statistics, set beside ``model``'s on the
  same tasks, give tokens per forward pass with and without the merge draft.

Every record is appended to a JSONL as soon as it exists, keyed by (task id and content digest,
method, model, config hash), and a key already there is not run again: an interrupted run
resumes where it stopped, and a change to the model, its settings or the code on the apply
path (applier, guards, prompt, windows, speculative/, merge/) is a new key.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapply.corpus.styles import style_of
from fastapply.evals import metrics
from fastapply.evals.dataset import Task, length_bucket, spread
from fastapply.guards import LEAKED_MARKERS
from fastapply.markers import is_marker
from fastapply.settings import Settings

FAST_METHODS = ("original", "splice", "merge")
MODEL = "model"
GREEDY = "model-greedy"
AUTO = "auto"
MODEL_METHODS = (MODEL, GREEDY, AUTO)
METHODS = FAST_METHODS + (MODEL, AUTO)
# Settings that are where things live, not what is measured.
_NOT_CONFIG = ("cache_dir",)
_HEAD = 400  # characters of a rejected raw answer kept in its record

Progress = Callable[[int, int, str], None]  # (done, total, label of the job just finished)
Judge = Callable[[Task, str], dict]  # (task, result text) -> {"score": 1..5, "reason": ...}


@dataclass
class Outcome:
    text: str | None  # the resulting file; None when the method produced none
    error_kind: str | None = None  # a metrics category when the method itself reported failure
    error: str = ""
    stats: dict | None = None  # DecodeStats.as_dict() for model methods
    answer_sha: str = ""  # digest of the model's raw answer, to compare greedy and speculative
    answer_head: str = ""  # the raw answer's start, to see what a failing model wrote
    source: str = ""  # who wrote the file: model | merge | merge-fallback; "" for none or a floor
    confidence: float | None = None  # the merge's confidence, for the merge method
    notes: str = ""  # why auto fell back, the merge's doubts
    guard: str = ""  # the kind of guard that refused the model's answer (guards.KINDS)


@dataclass(frozen=True)
class Job:
    task: Task
    method: str
    key: str


# --- the floors and the merge ---------------------------------------------------------------------
def naive_splice(original: str, snippet: str) -> str:
    """The simplest splice that uses the snippet's markers: split the snippet at marker lines
    into hunks; for each hunk, find its first non-blank line in the original (exact text after
    stripping, searching forward from the previous hunk) and its last non-blank line after
    that, and replace that span with the hunk. A hunk whose first line is not found is
    dropped; a snippet without markers replaces the whole file. No indentation repair, no
    fuzzy matching, no new code placement: it is a floor.
    """
    lines = original.splitlines(keepends=True)
    snippet_lines = snippet.splitlines(keepends=True)
    if not any(is_marker(line) for line in snippet_lines):
        return snippet
    hunks, current = [], []
    for line in snippet_lines:
        if is_marker(line):
            hunks.append(current)
            current = []
        else:
            current.append(line)
    hunks.append(current)
    keys = [line.strip() for line in lines]
    cursor = 0
    for hunk in hunks:
        body = [line.strip() for line in hunk if line.strip()]
        if not body:
            continue
        try:
            start = keys.index(body[0], cursor)
        except ValueError:
            continue
        end = next((i for i in range(start, len(keys)) if keys[i] == body[-1]), start + len(hunk) - 1)
        end = min(end, len(lines) - 1)
        if hunk and not hunk[-1].endswith("\n") and end + 1 < len(lines):
            hunk = hunk[:-1] + [hunk[-1] + "\n"]
        lines[start:end + 1] = hunk
        keys[start:end + 1] = [line.strip() for line in hunk]
        cursor = start + len(hunk)
    return "".join(lines)


def run_fast(method: str, task: Task) -> Outcome:
    if method == "original":
        return Outcome(task.original)
    if method == "splice":
        return Outcome(naive_splice(task.original, task.snippet))
    if method == "merge":
        from fastapply.merge import merge

        result = merge(task.original, task.snippet, path=task.path)
        if result.text is None:
            return Outcome(None, metrics.DID_NOT_FINISH, "merge refused: " + "; ".join(result.reasons), confidence=0.0)
        return Outcome(result.text, source="merge", confidence=result.confidence)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


# --- the model ------------------------------------------------------------------------------------
def run_model(applier, task: Task, speculation: bool, mode: str = MODEL) -> Outcome:
    """One apply in `mode` (model or auto). Statistics are taken from the step callback too, so
    a rejected answer still has its timings."""
    from fastapply.errors import FastApplyError, OutputRejected
    from fastapply import prompt

    seen: dict = {}

    def on_step(_new, stats) -> None:
        seen["stats"] = stats

    try:
        result = applier.apply(task.original, task.snippet, task.instruction, path=task.path, mode=mode,
                               speculation=speculation, on_step=on_step)
    except OutputRejected as exc:
        stats = seen["stats"].as_dict() if "stats" in seen else None
        text = prompt.extract(exc.text, task.original)  # a guard-refused answer still has a whole file
        # The guard that refused says the category where it names one; otherwise the text
        # is scored like any other (a mass deletion is a collateral change, say).
        kind = metrics.MARKER_LEAKED if exc.kind == LEAKED_MARKERS else None if text is not None else metrics.DID_NOT_FINISH
        return Outcome(text, kind, str(exc), stats, _sha(exc.text), exc.text[:_HEAD], guard=exc.kind)
    except FastApplyError as exc:  # context too long, bad input: no file
        return Outcome(None, metrics.DID_NOT_FINISH, f"{type(exc).__name__}: {exc}")
    # A fallback carries the failed generation's final statistics; the step callback's are a
    # stand-in only where the result has none (a merge written without a model run).
    stats = result.stats if result.stats.output_tokens or "stats" not in seen else seen["stats"]
    return Outcome(result.text, None, "", stats.as_dict(), _sha(result.answer), source=result.source,
                   notes="; ".join(result.notes))


class LazyApplier:
    """Loads the model on first use: a resumed run whose model work is done never loads it."""

    def __init__(self, settings: Settings, applier=None) -> None:
        self.settings, self.applier = settings, applier

    def get(self):
        if self.applier is None:
            from fastapply.applier import Applier

            self.applier = Applier(self.settings)
        return self.applier


# --- keys and records -----------------------------------------------------------------------------
def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def task_digest(task: Task) -> str:
    return _sha("\0".join((task.original, task.snippet, task.instruction, task.expected)))


def settings_hash(settings: Settings) -> str:
    data = {k: v for k, v in settings.model_dump().items() if k not in _NOT_CONFIG}
    return _sha(json.dumps(data, sort_keys=True, default=str))


# The modules a model-method result depends on besides the model and its settings: a change to
# any of them is a new key, so an old result is never reused for changed code.
APPLY_PATH = ("applier.py", "guards.py", "prompt.py", "windows.py", "markers.py", "speculative/*.py", "merge/*.py")


def code_hash(method: str) -> str:
    """The floors and the merge are code, not settings: their code is their config. The model
    methods add the whole apply path to their settings."""
    here = Path(__file__).parent.parent
    if method == "merge":
        patterns = ("merge/*.py", "markers.py", "guards.py")
    elif method in MODEL_METHODS:
        patterns = APPLY_PATH
    else:
        return _sha(Path(__file__).read_text(encoding="utf-8"))
    files = sorted({f for pattern in patterns for f in here.glob(pattern)})
    return _sha("".join(f.read_text(encoding="utf-8") for f in files))


def job_key(task: Task, method: str, model: str, config: str) -> str:
    return "|".join((task.id, task_digest(task), method, model, config))


def plan(tasks: list[Task], methods: Iterable[str], settings: Settings, speed_sample: int = 0) -> list[Job]:
    """All jobs, method by method (fast ones first, so their numbers come early); the speed
    sample is a spread over languages and lengths, not the first N tasks."""
    jobs = []
    methods = list(methods)
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    for method in sorted(methods, key=METHODS.index):
        model = settings.engine.model
        if method == MODEL:
            config = settings_hash(settings) + code_hash(MODEL)
            jobs += [Job(t, MODEL, job_key(t, MODEL, model, config)) for t in tasks]
            sample = spread(tasks, speed_sample) if speed_sample > 0 else []
            jobs += [Job(t, GREEDY, job_key(t, GREEDY, model, config)) for t in sample]
        elif method == AUTO:
            config = settings_hash(settings) + code_hash(AUTO)
            jobs += [Job(t, AUTO, job_key(t, AUTO, model, config)) for t in tasks]
        else:
            config = code_hash(method)
            jobs += [Job(t, method, job_key(t, method, "", config)) for t in tasks]
    return jobs


def score(job: Job, outcome: Outcome, seconds: float, model: str) -> dict:
    task = job.task
    exact = metrics.exact_match(outcome.text, task.expected)
    record = {
        "key": job.key,
        "task": task.id,
        "method": job.method,
        "model": model if job.method in MODEL_METHODS else "",
        "language": task.language,
        "path": task.path,
        "n_lines": task.n_lines,
        "bucket": length_bucket(task.n_lines),
        "style": style_of(task.id),
        "exact": exact,
        "syntax": metrics.syntax_equal(outcome.text, task.expected, task.language, task.path),
        "similarity": round(metrics.line_similarity(outcome.text, task.expected), 4),
        "failure": metrics.failure_category(task.original, task.expected, outcome.text, outcome.error_kind),
        "error": outcome.error,
        "seconds": round(seconds, 4),
        "stats": outcome.stats,
        "answer_sha": outcome.answer_sha,
        "source": outcome.source,
    }
    if outcome.confidence is not None:
        record["confidence"] = outcome.confidence
    if outcome.notes:
        record["notes"] = outcome.notes[:_HEAD]
    if outcome.guard:
        record["guard"] = outcome.guard
    if outcome.answer_head:
        record["answer_head"] = outcome.answer_head
    if outcome.text is not None and not exact and job.method != "original":
        record["output"] = outcome.text  # the expected file and the original need no copy
    return record


def output_text(record: dict, task: Task) -> str | None:
    if record["exact"]:
        return task.expected
    if record["method"] == "original":
        return task.original
    return record.get("output")


# --- the results file -----------------------------------------------------------------------------
def load_results(path: Path | None) -> dict[str, dict]:
    """Records by key; a later line for a key (e.g. one with a judge score) wins. A torn last
    line from an interrupted run is ignored."""
    found: dict[str, dict] = {}
    if path is None or not Path(path).exists():
        return found
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            found[record["key"]] = record
    return found


def append_result(path: Path | None, record: dict) -> None:
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()


def needs_judge(record: dict, task: Task, judge: Judge | None) -> bool:
    if judge is None or output_text(record, task) is None or record["method"] == GREEDY:
        return False
    return (record.get("judge") or {}).get("score") is None


def run_judge(judge: Judge, task: Task, text: str) -> dict:
    try:
        return judge(task, text)
    except Exception as exc:  # a judge outage must not lose the apply results; retried on resume
        return {"score": None, "error": f"{type(exc).__name__}: {exc}"}


# --- the loop -------------------------------------------------------------------------------------
def run_eval(
    tasks: list[Task],
    methods: Iterable[str] = METHODS,
    *,
    settings: Settings | None = None,
    results: Path | None = None,
    speed_sample: int = 0,
    judge: Judge | None = None,
    applier=None,
    progress: Progress | None = None,
) -> list[dict]:
    """Run every method on every task (skipping keys already in `results`); return the
    records of this task set, in plan order. `applier` overrides loading the configured model
    (e.g. a fine-tuned one already in memory)."""
    settings = settings or Settings()
    done = load_results(results)
    jobs = plan(tasks, methods, settings, speed_sample)
    todo = [j for j in jobs if j.key not in done or needs_judge(done[j.key], j.task, judge)]
    model = LazyApplier(settings, applier)
    tell = progress or (lambda _done, _total, _label: None)
    tell(0, len(todo), "")
    for index, job in enumerate(todo, 1):
        record = done.get(job.key)
        if record is None:
            started = time.perf_counter()
            if job.method in FAST_METHODS:
                outcome = run_fast(job.method, job.task)
            else:
                mode = AUTO if job.method == AUTO else MODEL
                outcome = run_model(model.get(), job.task, speculation=job.method != GREEDY, mode=mode)
            record = score(job, outcome, time.perf_counter() - started, settings.engine.model)
        if needs_judge(record, job.task, judge):
            record = {**record, "judge": run_judge(judge, job.task, output_text(record, job.task))}
        append_result(results, record)
        done[job.key] = record
        tell(index, len(todo), f"{job.method} {job.task.path}")
    return [done[j.key] for j in jobs]
