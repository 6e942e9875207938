"""The server's pure parts, and its loading state machine in-process (no model: a scripted
engine stands in for the loading, and only there)."""
from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from fastapply import prompt
from fastapply.applier import Applier
from fastapply.server import create_app
from fastapply.server.applyprompt import parse
from fastapply.server.generation import TextStream, cut_at_stops
from fastapply.settings import ServerSettings, Settings
from toy_engine import ScriptedEngine

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ORIGINAL = (EXAMPLES / "app.py").read_text()
SNIPPET = (EXAMPLES / "app.snippet.py").read_text()


def chars(text: str) -> list[int]:
    return [ord(c) for c in text]


def detok(tokens) -> bytes:
    return "".join(chr(t) for t in tokens).encode()


def test_text_stream_holds_back_what_a_stop_could_claim():
    # the docstring's example: "ab</" may begin "</x>"; "x>cd" completes it
    s = TextStream(detok, stops=["</x>"])
    assert s.push(chars("ab</")) == ""
    assert s.push(chars("x>cd")) == "ab"
    assert s.finish("ab") == ""


def test_text_stream_stops_at_end_of_sequence_and_refuses_a_different_final():
    s = TextStream(detok, eos=frozenset({0}))
    assert s.push([*chars("hello"), 0, *chars("junk")]) == "hello"
    assert s.push(chars("more")) == ""
    assert s.finish("hello world") == " world"
    assert s.finish("goodbye") is None  # not a continuation: already-sent text cannot change


def test_text_stream_sends_whole_utf8_characters_only():
    s = TextStream(lambda toks: bytes(toks))
    e_acute = "é".encode()
    assert s.push([e_acute[0]]) == ""  # half a character
    assert s.push([e_acute[1]]) == "é"


def test_cut_at_stops_takes_the_earliest():
    assert cut_at_stops("a;b.c", [".", ";"]) == "a"
    assert cut_at_stops("abc", []) == "abc"


def test_parse_apply_prompts_of_every_shape():
    relace = parse([{"role": "user", "content": "<instruction>do it</instruction>\n<code>a\n</code>\n<update>b\n</update>"}])
    assert (relace.original, relace.snippet, relace.instruction) == ("a\n", "b\n", "do it")
    ours = parse(prompt.messages(ORIGINAL, SNIPPET, "check"))
    assert (ours.original, ours.snippet, ours.instruction) == (ORIGINAL, SNIPPET, "check")
    html = parse([{"role": "user", "content": "<code><code>x</code>\n</code><update>y</update>"}])
    assert html.original == "<code>x</code>\n"
    assert parse([{"role": "user", "content": "merge the <update> into the <code>"}]) is None
    assert parse([{"role": "system", "content": "<code>a</code><update>b</update>"}]) is None


def test_loading_state_503_then_ready():
    release = threading.Event()
    answer = prompt.expected_answer(ORIGINAL.replace("quantity += amount", "quantity += amount  # ok"))

    def slow_load(_engine, _cache):
        release.wait(30)
        return ScriptedEngine(answer)

    settings = Settings(mode="auto")
    app = create_app(settings, ServerSettings(retry_after=7), applier=Applier(settings, load=slow_load))
    with TestClient(app) as c:
        health = c.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "loading"
        assert health.headers["retry-after"] == "7"
        body = {"initialCode": ORIGINAL, "editSnippet": SNIPPET}
        r = c.post("/v1/apply", json={**body, "mode": "model"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "model_loading"
        assert c.post("/v1/apply", json={**body, "mode": "merge"}).status_code == 200  # no model needed
        release.set()
        for _ in range(100):
            if c.get("/health").status_code == 200:
                break
            threading.Event().wait(0.05)
        r = c.post("/v1/apply", json={**{"initialCode": ORIGINAL, "editSnippet": SNIPPET}, "mode": "model"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "snippet-not-applied"  # the guards ran
