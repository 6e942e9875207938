"""Teacher examples: a strong model writes the edits and applies them; deterministic checks keep the good ones.

This is the recipe behind Cursor's apply-model data. Mutations (``synth``) give exact
targets but edits no one would write; real commits give real edits but few of them. A
strong chat model behind any OpenAI-compatible endpoint fills the gap in two calls:

1. **propose** -- shown a file, it invents one small realistic edit and writes it the way
   agents do, as a lazy snippet with elision markers in the file's comment syntax, plus
   a one-line instruction. The reply format is strict (an ``<instruction>`` line, then
   one fenced block) so it parses without guessing;
2. **apply** -- it is sent fastapply's *own* apply prompt (``prompt.messages``), so the
   target is written exactly as our model will be asked to write it. A chat API cannot
   prefill the ``<updated-code>`` tag, so the answer is read from after that tag with
   ``prompt.extract``. Where the server supports predicted outputs (OpenAI's
   ``prediction``), the original is passed as the prediction -- the same copy-heavy
   speed-up our engine gets from speculation; a server that refuses it with a 4xx is
   asked again without it, and never again with it.

A teacher is not trusted: every answer goes through the checks the applier itself runs
(``check_snippet``, ``guard_failure``: no leaked marker, no mass deletion, every concrete
snippet line in the result) and a few more -- no change, not too large a change, and agreement with the deterministic
merge wherever that merge is confident (two independent appliers disagreeing means one
of them is wrong, and a training target must not be). Each rejection is counted by
reason so the data report can show what the teacher costs.

Everything but the teacher's text is a function of ``seed``: which files, which edit is
asked for where, the marker phrase; the teacher runs at temperature 0.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import random
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastapply import prompt
from fastapply.guards import INCONSISTENT, SNIPPET_NOT_APPLIED, check_snippet, guard_failure
from fastapply.errors import InputError
from fastapply.corpus.snippets import MARKER_PHRASES, marker_line, touched_fraction
from fastapply.languages import detect
from fastapply.markers import is_marker
from fastapply.merge import merge
from fastapply.train.example import Example, SourceFile

# Edits a developer (or an agent) plausibly asks for. One is drawn per attempt, so the
# teacher does not settle on its favourite edit (usually "add a docstring").
EDIT_KINDS = (
    "add input validation that raises a clear error on bad arguments",
    "add a short comment or docstring that explains a non-obvious step",
    "rename a local variable or parameter to a clearer name, everywhere it is used in that function",
    "add a new small helper function or method that fits the file, and use it once",
    "change a constant, a default value or a message string",
    "add an early return or a guard for an edge case",
    "remove a redundant statement or simplify a condition",
    "add a new parameter with a default value and use it",
    "fix a likely bug or an unhandled edge case",
    "extract a repeated expression into a well-named variable",
)

# Files outside this range are not offered: too short to need a lazy snippet, or too long
# for a teacher's context and for the windowless training examples.
MIN_LINES = 10
MAX_LINES = 400
# Share of the file a change may touch; the eval set's bound (evals.dataset.Filters).
MAX_TOUCHED = 0.4
# A merge this sure of itself is trusted enough to veto a teacher that disagrees with it
# (Settings.merge_min_confidence, the confidence auto mode falls back to).
MERGE_CONFIDENCE = 0.9

# Every rejection key ``teacher_examples`` counts (plus ``http-<status>`` for a request the
# server answered with an error, and ``http-error`` for a timeout or an unreadable reply).
REASONS = (
    "proposal-unparseable", "snippet-empty", "snippet-no-marker", "apply-unparseable", "apply-fenced", "leaked-markers",
    "mass-deletion", "no-change", "whitespace-only", "snippet-not-applied", "too-large", "merge-disagrees",
    "inconsistent", "duplicate",
)

PROPOSE_SYSTEM = "You are a senior software engineer who edits code the way coding agents do: with lazy edit snippets."

PROPOSE_USER = """Propose ONE small, realistic edit to the file below: {kind}. Make it somewhere near line {line}.

Write the edit as a lazy edit snippet:
- Show only the changed code plus 1-3 unchanged lines around each change, so it can be located.
- Replace every stretch of unchanged code you leave out with this line, indented like the code it stands for:
{marker}
- Begin and end the snippet with that marker line unless the change is at the start or end of the file.
- Never elide code inside a line you show; copy shown lines exactly.

Reply in exactly this format and nothing else:
<instruction>one sentence saying what the edit does</instruction>
```{fence}
the lazy edit snippet
```

File `{path}`:
```{fence}
{text}```"""

_INSTRUCTION = re.compile(r"<instruction>\s*(.*?)\s*</instruction>", re.DOTALL)
_FENCE = re.compile(r"^```[^\n`]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Proposal:
    instruction: str
    snippet: str


def parse_proposal(reply: str) -> Proposal | None:
    """The instruction and snippet from a propose reply, or None when it is not in the asked format.

    Strict on purpose: a reply that cannot follow a two-part format is not trusted to have
    written a faithful snippet either. The instruction must be one line; the snippet is
    the first fenced block after it.

    Example:
        parse_proposal("<instruction>Rename x.</instruction>\\n```py\\ny = 1\\n```")
            -> Proposal(instruction="Rename x.", snippet="y = 1\\n")
    """
    found = _INSTRUCTION.search(reply or "")
    if not found:
        return None
    instruction = found.group(1).strip()
    if not instruction or "\n" in instruction:
        return None
    block = _FENCE.search(reply, found.end())
    if not block or not block.group(1).strip():
        return None
    return Proposal(instruction, block.group(1))


def parse_applied(reply: str, original: str) -> str | None:
    """The updated file from an apply reply: the text after ``<updated-code>``, up to its closing tag.

    Our own engine gets the opening tag prefilled; a chat API cannot prefill, so the tag is
    looked for in the reply (the newline after it belongs to the tag, as in
    ``prompt.answer_prefix``).
    """
    start = (reply or "").find(prompt.OPEN_TAG)
    if start < 0:
        return None
    rest = reply[start + len(prompt.OPEN_TAG):]
    if rest.startswith("\r\n"):
        rest = rest[2:]
    elif rest.startswith("\n"):
        rest = rest[1:]
    return prompt.extract(rest, original)


def _fence_edges(text: str) -> set[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return {line for line in (lines[:1] + lines[-1:]) if line.startswith("```")}


def rejection(original: str, snippet: str, target: str | None, *, path: str,
              max_touched: float = MAX_TOUCHED) -> str | None:
    """Why a teacher's (snippet, target) pair must not become a training example, or None.

    The reason is a short stable key, counted in the stats. ``target`` None means the apply
    reply had no closed ``<updated-code>`` block. The snippet checks come first, so this
    also serves before the apply call (``target`` ignored when the snippet already fails).
    """
    reason = snippet_rejection(snippet)
    if reason:
        return reason
    if target is None:
        return "apply-unparseable"
    if _fence_edges(target) - _fence_edges(original):
        # Chat models like to wrap code in a fence even inside the tags; the fence is not the file.
        return "apply-fenced"
    failure = guard_failure(target, original, snippet)
    # The two content guards come after the cheaper, more specific reasons below.
    if failure and failure.kind not in (SNIPPET_NOT_APPLIED, INCONSISTENT):
        return failure.kind
    if target == original:
        return "no-change"
    if target.strip() == original.strip() or [l.rstrip() for l in target.splitlines()] == [
            l.rstrip() for l in original.splitlines()]:
        return "whitespace-only"
    if failure and failure.kind == SNIPPET_NOT_APPLIED:  # a lazy snippet deletes only by omission
        return failure.kind
    if touched_fraction(original, target) > max_touched:
        return "too-large"
    merged = merge(original, snippet, path=path)
    if merged.ok and merged.confidence >= MERGE_CONFIDENCE and merged.text != target:
        return "merge-disagrees"
    if failure:  # not the original with the snippet's hunks put in (consistency.py)
        return failure.kind
    return None


def snippet_rejection(snippet: str) -> str | None:
    """Why a proposed snippet is no lazy edit snippet worth applying, or None."""
    try:
        check_snippet(snippet)
    except InputError:
        return "snippet-empty"
    if not any(is_marker(line) for line in snippet.splitlines()):
        # A whole-file rewrite teaches nothing about lazy snippets.
        return "snippet-no-marker"
    return None


class TeacherError(RuntimeError):
    """The endpoint cannot be used at all (unreachable, or refuses every request)."""


class ChatClient:
    """Minimal OpenAI-compatible chat client over urllib: one POST per call, temperature 0.

    Plain urllib instead of the ``openai`` package keeps the data build free of the eval
    extra, and makes the predicted-output fallback explicit: the first 4xx on a request
    carrying ``prediction`` turns it off for the rest of the run.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.timeout = model, api_key, timeout
        self.prediction = True  # until the server refuses it
        self.requests = 0

    def _post(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
        self.requests += 1
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read().decode("utf-8"))

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, seed: int = 0,
             prediction: str | None = None) -> str:
        body = {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": max_tokens, "seed": seed}
        if prediction is not None and self.prediction:
            try:
                return _content(self._post({**body, "prediction": {"type": "content", "content": prediction}}))
            except urllib.error.HTTPError as exc:
                if not 400 <= exc.code < 500:
                    raise
                self.prediction = False
        return _content(self._post(body))


def _content(response: dict) -> str:
    try:
        return response["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        return ""


def _key(seed: str, *parts: str) -> str:
    return hashlib.sha256("\0".join((seed, *parts)).encode()).hexdigest()


def propose_messages(file: SourceFile, *, kind: str, line: int, phrase: str) -> list[dict[str, str]]:
    language = detect(file.path)
    text = prompt.render(file.text)
    fence = language.name if language.name != "text" else ""
    user = PROPOSE_USER.format(kind=kind, line=line, marker=marker_line(language, phrase, ""), fence=fence,
                               path=file.path, text=text)
    return [{"role": "system", "content": PROPOSE_SYSTEM}, {"role": "user", "content": user}]


def apply_budget(original: str, snippet: str) -> int:
    """Tokens the apply answer may take: the whole file plus the snippet, with slack.

    No tokenizer for an arbitrary teacher, so characters / 3 (code runs about 3-4
    characters a token) stands in, as generous as the engine's own 1.1x budget.
    """
    return int(1.2 * (len(original) + len(snippet)) / 3) + 64


def teacher_examples(
    files: Iterable[SourceFile],
    *,
    base_url: str,
    model: str,
    api_key: str | None = None,
    limit: int,
    seed: str,
    timeout: float = 120,
    stats: dict | None = None,
    max_attempts: int | None = None,
    max_tokens: int | None = None,
) -> Iterator[Example]:
    """Up to ``limit`` teacher-written examples from ``files``; see the module docstring for the recipe.

    At most ``max_attempts`` (default ``3 * limit``) edits are proposed, so a weak or
    misbehaving teacher costs a bounded number of requests. Files are taken in an order
    fixed by ``seed`` (only that many are kept in memory), one edit each, cycling when
    there are fewer files than attempts. ``max_tokens`` caps every reply (tests use it to
    keep a small model quick).

    ``stats`` (the caller's dict, updated in place as the generator runs) gets:
    ``files`` (candidates offered), ``attempts``, ``requests`` (HTTP calls),
    ``accepted``, ``prediction`` (whether the server took predicted outputs) and
    ``rejected``: {reason: count}, whose counts add up to ``attempts - accepted``.
    """
    stats = stats if stats is not None else {}
    stats.update(files=0, attempts=0, requests=0, accepted=0, rejected={})
    rejected: dict[str, int] = stats["rejected"]
    if limit <= 0:
        return
    max_attempts = 3 * limit if max_attempts is None else max_attempts
    candidates = heapq.nsmallest(
        max_attempts,
        (f for f in files if MIN_LINES <= len(f.text.splitlines()) < MAX_LINES),
        key=lambda f: _key(seed, f.source, f.path),
    )
    stats["files"] = len(candidates)
    if not candidates:
        return
    client = ChatClient(base_url, model, api_key, timeout)
    seen: set[str] = set()

    def reject(reason: str) -> None:
        rejected[reason] = rejected.get(reason, 0) + 1

    for attempt in range(max_attempts):
        if stats["accepted"] >= limit:
            break
        file = candidates[attempt % len(candidates)]
        round_ = attempt // len(candidates)
        rng = random.Random(_key(seed, file.source, file.path, str(round_)))
        kind = rng.choice(EDIT_KINDS)
        line = rng.randint(1, len(file.text.splitlines()))
        phrase = rng.choice(MARKER_PHRASES)
        int_seed = rng.randrange(2**31)
        stats["attempts"] += 1
        try:
            reply = client.chat(propose_messages(file, kind=kind, line=line, phrase=phrase),
                                max_tokens=max_tokens or 1024, seed=int_seed)
            proposal = parse_proposal(reply)
            if proposal is None:
                reject("proposal-unparseable")
                continue
            reason = snippet_rejection(proposal.snippet)
            if reason:
                reject(reason)
                continue
            budget = apply_budget(file.text, proposal.snippet)
            answer = client.chat(prompt.messages(file.text, proposal.snippet, proposal.instruction),
                                 max_tokens=min(budget, max_tokens) if max_tokens else budget, seed=int_seed,
                                 prediction=file.text)
        except urllib.error.HTTPError as exc:
            reject(f"http-{exc.code}")
            continue
        except (urllib.error.URLError, ConnectionError) as exc:
            if isinstance(getattr(exc, "reason", None), TimeoutError):
                reject("http-error")
                continue
            # Unreachable: every further attempt would fail the same way.
            raise TeacherError(f"teacher endpoint {client.url} unreachable: {exc}") from exc
        except (TimeoutError, json.JSONDecodeError):
            reject("http-error")
            continue
        finally:
            stats["requests"] = client.requests
            stats["prediction"] = client.prediction
        target = parse_applied(answer, file.text)
        reason = rejection(file.text, proposal.snippet, target, path=file.path)
        if reason is None:
            example = Example(
                id=f"teacher/{file.source}/{file.path}#{round_}",
                kind="teacher",
                language=detect(file.path).name,
                source=file.source,
                path=file.path,
                instruction=proposal.instruction,
                original=file.text,
                snippet=proposal.snippet,
                target=target,
            )
            if example.content_key() in seen:
                reason = "duplicate"
            else:
                seen.add(example.content_key())
        if reason:
            reject(reason)
            continue
        stats["accepted"] += 1
        yield example
