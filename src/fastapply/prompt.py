"""The apply prompt: the field's shared convention, and exact extraction of the answer.

Morph, Relace and Kortix all send an optional ``<instruction>``, the file in ``<code>``
and the lazy snippet in ``<update>``; the answer is the whole updated file. We wrap the
answer in ``<updated-code>`` (Kortix's tag) and *prefill* the assistant turn with the
opening tag, so the model's first token is already the file's first token and the
drafter can start copying the original at once. Generation stops at the closing tag.

Layout of the answer (what the drafter copies and what ``extract`` parses)::

    <updated-code>\\n        <- prefilled, part of the prompt
    FILE TEXT ending in \\n   <- the model writes this ...
    </updated-code>          <- ... and this, then stops

``render`` gives the file a final newline inside the tags; ``extract`` takes it off
again unless the original had one, so trailing-newline semantics survive. ``StopAtTag``
ends generation at the closing tag.
"""
from __future__ import annotations

from collections.abc import Callable

OPEN_TAG = "<updated-code>"
CLOSE_TAG = "</updated-code>"

SYSTEM = "You are a coding assistant that merges code updates into files, exactly."

INSTRUCTIONS = (
    "Merge all changes from the <update> snippet into the <code> below.\n"
    "- Preserve the code's structure, order, comments, and indentation exactly.\n"
    "- Lines such as `// ... existing code ...` stand for unchanged code: write that code out in full.\n"
    f"- Output only the complete updated file, inside {OPEN_TAG} and {CLOSE_TAG}."
)


def render(text: str) -> str:
    """The file as it appears between tags: always ending in one newline of its own."""
    return text if text.endswith("\n") else text + "\n"


def user_message(original: str, snippet: str, instruction: str | None = None) -> str:
    parts = [INSTRUCTIONS]
    if instruction and instruction.strip():
        parts.append(f"<instruction>{instruction.strip()}</instruction>")
    parts.append(f"<code>\n{render(original)}</code>")
    parts.append(f"<update>\n{render(snippet)}</update>")
    return "\n".join(parts)


def messages(original: str, snippet: str, instruction: str | None = None) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user_message(original, snippet, instruction)},
    ]


def answer_prefix() -> str:
    """Prefilled into the assistant turn, after the chat template's opening."""
    return OPEN_TAG + "\n"


def expected_answer(file_text: str) -> str:
    """What a perfect model writes after the prefix for a given result file."""
    return render(file_text) + CLOSE_TAG


def extract(answer: str, original: str) -> str | None:
    """The updated file from the model's answer, or None if the closing tag never came.

    Example:
        extract("a\\nb\\n</updated-code>", original="x\\n") -> "a\\nb\\n"
        extract("a\\nb\\n</updated-code>", original="x")   -> "a\\nb"
        extract("a\\nb", original="x\\n")                  -> None
    """
    end = answer.find(CLOSE_TAG)
    if end < 0:
        return None
    body = answer[:end]
    if not original.endswith("\n") and body.endswith("\n"):
        body = body[:-1]
    return body


class StopAtTag:
    """Stop callback for ``generate``: keep tokens up to the one completing the closing tag.

    Detokenizes incrementally (bytes, since a token may end mid-character) so the check
    costs O(new tokens) per step.
    """

    def __init__(self, detokenize: Callable[[list[int]], bytes], tag: str = CLOSE_TAG) -> None:
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
