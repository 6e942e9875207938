"""Optional LLM judge: grade an applied edit 1-5 with any OpenAI-compatible endpoint.

Off by default (``fastapply eval --judge`` turns it on). Configured by flags or env:
``FASTAPPLY_JUDGE_URL`` (base URL, e.g. http://127.0.0.1:8000/v1), ``FASTAPPLY_JUDGE_MODEL``,
``FASTAPPLY_JUDGE_API_KEY`` (falls back to ``OPENAI_API_KEY``, then a dummy for local servers).

Exact match and syntax equality are the primary metrics; the judge adds a reading of the
near misses (is a result that differs from the real after-file still a correct application
of the snippet?), as vendors who grade with an LLM do.

The prompt (``SYSTEM`` and ``USER`` below) shows the judge the original file, the edit
snippet, the instruction, the reference result (the real after-file) and the candidate, and
asks for one line ``SCORE: n`` after a short reason. The scale:

    5  the candidate is the reference, or differs only in layout/whitespace
    4  the edit is applied correctly; a harmless difference (blank lines, comment wording)
    3  the edit is mostly applied; a small part missing or wrong, rest of the file intact
    2  the edit is barely applied, or unrelated code was changed or lost
    1  the edit is not applied, the file is broken or truncated, or markers were left in

Temperature 0. The score is parsed from the last ``SCORE: n``; an answer without one is an
error (recorded, and retried when the eval is resumed).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

SYSTEM = (
    "You grade code edits. A lazy edit snippet (changed code, unchanged code elided by "
    "'... existing code ...' comments) was applied to a file. Compare the candidate result with "
    "the reference result and grade how correctly the snippet was applied."
)
SCALE = """Scale:
5 = the candidate is the reference, or differs only in layout/whitespace
4 = the edit is applied correctly; only a harmless difference (blank lines, comment wording)
3 = the edit is mostly applied; a small part is missing or wrong, the rest of the file is intact
2 = the edit is barely applied, or unrelated code was changed or lost
1 = the edit is not applied, the file is broken or truncated, or elision markers were left in"""
USER = """Instruction: {instruction}

<original path="{path}">
{original}
</original>

<snippet>
{snippet}
</snippet>

<reference>
{expected}
</reference>

<candidate>
{candidate}
</candidate>

{scale}

Give a one-sentence reason, then a last line exactly of the form SCORE: <1-5>."""
_SCORE = re.compile(r"SCORE:\s*\**\s*([1-5])")


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str
    model: str
    api_key: str = "not-needed"
    max_tokens: int = 200
    timeout: float = 120.0

    @classmethod
    def from_env(cls, base_url: str | None = None, model: str | None = None, api_key: str | None = None) -> "JudgeConfig":
        """Flags win over FASTAPPLY_JUDGE_* env; a local server needs no real key."""
        url = base_url or os.environ.get("FASTAPPLY_JUDGE_URL")
        if not url:
            raise ValueError("the judge needs an endpoint: --judge-url or FASTAPPLY_JUDGE_URL")
        key = api_key or os.environ.get("FASTAPPLY_JUDGE_API_KEY") or os.environ.get("OPENAI_API_KEY") or "not-needed"
        return cls(url, model or os.environ.get("FASTAPPLY_JUDGE_MODEL", "default"), key)


def judge_messages(task, candidate: str) -> list[dict[str, str]]:
    user = USER.format(instruction=task.instruction, path=task.path, original=task.original,
                       snippet=task.snippet, expected=task.expected, candidate=candidate, scale=SCALE)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_score(answer: str) -> int | None:
    found = _SCORE.findall(answer or "")
    return int(found[-1]) if found else None


class LLMJudge:
    """Callable ``judge(task, candidate) -> {"score": 1..5 | None, "reason": str}``."""

    def __init__(self, config: JudgeConfig) -> None:
        from openai import OpenAI  # only when judging: the eval runs without the openai package

        self.config = config
        self.client = OpenAI(base_url=config.base_url, api_key=config.api_key, timeout=config.timeout)

    def __call__(self, task, candidate: str) -> dict:
        response = self.client.chat.completions.create(
            model=self.config.model,
            messages=judge_messages(task, candidate),
            temperature=0,
            max_tokens=self.config.max_tokens,
        )
        answer = response.choices[0].message.content or ""
        score = parse_score(answer)
        result = {"score": score, "reason": answer.strip()[-300:], "judge": self.config.model}
        if score is None:
            result["error"] = "no 'SCORE: n' line in the judge's answer"
        return result
