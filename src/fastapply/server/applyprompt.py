"""Recognise an apply prompt in chat messages: the field's ``<instruction>/<code>/<update>``.

Morph and Relace clients send one user message ``<instruction>..</instruction>
<code>FILE</code> <update>SNIPPET</update>`` (the instruction optional) to model ``auto``;
fastapply's own prompt (``prompt.user_message``) has the same tags after its instructions.

    >>> parse([{"role": "user", "content": "<code>a = 1\\n</code>\\n<update>a = 2\\n</update>"}])
    ApplyPrompt(original='a = 1\\n', snippet='a = 2\\n', instruction=None)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# A tag counts where a prompt puts it: at the start of the message or of a line, or right
# after the instruction -- not where prose mentions it ("merge the <update> into the <code>").
_OPEN_CODE = re.compile(r"(?:\A|\n|</instruction>)[ \t]*<code>")
_OPEN_UPDATE = re.compile(r"</code>\s*<update>")


@dataclass(frozen=True)
class ApplyPrompt:
    original: str
    snippet: str
    instruction: str | None


def _body(text: str, start: int, end: int) -> str:
    body = text[start:end]
    return body[1:] if body.startswith("\n") else body  # fastapply's prompt opens with a newline


def parse(messages: list[dict[str, str]]) -> ApplyPrompt | None:
    """The apply prompt in the last user message, or None when it is not one.

    The file may itself contain ``</code>`` (HTML, Markdown), so the file ends at the last
    ``</code>`` followed by ``<update>``, and the snippet at the last ``</update>``.
    """
    user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), None)
    if not user:
        return None
    code = _OPEN_CODE.search(user)
    if code is None:
        return None
    open_code = code.end()
    update = None
    for update in _OPEN_UPDATE.finditer(user, open_code):
        pass  # the last one: the file itself may hold "</code>" and "<update>"
    if update is None:
        return None
    close_code, open_update = update.start(), update.end()
    close_update = user.rfind("</update>", open_update)
    if close_update < 0:
        return None
    instruction = None
    open_ins, close_ins = user.find("<instruction>"), user.find("</instruction>")
    if 0 <= open_ins < close_ins <= code.start():
        instruction = user[open_ins + len("<instruction>") : close_ins].strip() or None
    return ApplyPrompt(_body(user, open_code, close_code), _body(user, open_update, close_update), instruction)
