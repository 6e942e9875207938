"""``fastapply serve`` as a real process on loopback, in merge mode (no model: fast tier).

Driven by the official ``openai`` client for chat and by plain HTTP (``requests``, raw
sockets for what a client library will not send) for the rest. The model tier is in
test_server_model.py.
"""
from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import openai
import pytest
import requests

from fastapply import prompt
from serverproc import running_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ORIGINAL = (EXAMPLES / "app.py").read_text()
SNIPPET = (EXAMPLES / "app.snippet.py").read_text()
ANCHOR = "    def restock(self, sku: str, amount: int) -> None:\n"
EXPECTED = ORIGINAL.replace(ANCHOR, ANCHOR + '        if amount <= 0:\n            raise ValueError("amount must be positive")\n')
MAX_BODY = 200_000


@pytest.fixture(scope="module")
def base():
    with running_server("--mode", "merge", "--max-body-bytes", str(MAX_BODY), "--body-timeout", "1") as url:
        yield url


def client(base: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)


def apply_prompt(original: str = ORIGINAL, snippet: str = SNIPPET) -> list[dict]:
    return [{"role": "user", "content": f"<instruction>Check the amount</instruction>\n<code>{original}</code>\n"
                                        f"<update>{snippet}</update>"}]


def test_health_models_and_metrics(base):
    health = requests.get(base + "/health").json()
    assert health["status"] == "ok" and health["mode"] == "merge"
    ids = [m.id for m in client(base).models.list().data]
    assert ids == ["auto", "fastapply", "fastapply-merge"]  # no model is loaded in merge mode
    requests.post(base + "/v1/apply", json={"initialCode": ORIGINAL, "editSnippet": SNIPPET})
    text = requests.get(base + "/metrics").text
    assert 'fastapply_requests_total{endpoint="/v1/apply",status="200"}' in text
    assert 'fastapply_applies_total{source="merge"}' in text


def test_rest_apply_merges_with_source_and_confidence(base):
    r = requests.post(base + "/v1/apply", json={"initialCode": ORIGINAL, "editSnippet": SNIPPET,
                                                "instruction": "check the amount"})
    body = r.json()
    assert r.status_code == 200, body
    assert body["mergedCode"] == EXPECTED
    assert body["source"] == "merge" and body["confidence"] == 1.0
    assert body["usage"]["completion_tokens"] == 0


def test_rest_apply_keeps_crlf_and_bom(base):
    crlf = "\ufeff" + ORIGINAL.replace("\n", "\r\n")
    body = requests.post(base + "/v1/apply", json={"initialCode": crlf, "editSnippet": SNIPPET}).json()
    assert body["mergedCode"] == "\ufeff" + EXPECTED.replace("\n", "\r\n")


def test_rest_apply_streams_sse(base):
    r = requests.post(base + "/v1/apply", json={"initialCode": ORIGINAL, "editSnippet": SNIPPET, "stream": True},
                      stream=True)
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in r.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert "".join(e["mergedCode"] for e in parsed if e.get("mergedCode")) == EXPECTED
    assert parsed[-1]["done"] and parsed[-1]["source"] == "merge"


def test_chat_apply_prompt_with_the_openai_client(base):
    reply = client(base).chat.completions.create(model="auto", messages=apply_prompt())
    assert reply.choices[0].message.content == EXPECTED
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens_details.accepted_prediction_tokens == 0  # no model ran
    # fastapply's own prompt (instructions before the tags) is an apply prompt too
    ours = client(base).chat.completions.create(model="fastapply", messages=prompt.messages(ORIGINAL, SNIPPET))
    assert ours.choices[0].message.content == EXPECTED


def test_chat_apply_prompt_streams(base):
    chunks = list(client(base).chat.completions.create(model="auto", messages=apply_prompt(), stream=True,
                                                        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == EXPECTED
    assert chunks[-1].usage is not None and chunks[-1].choices == []


@pytest.mark.parametrize("extra, param", [
    ({"n": 2}, "n"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
    ({"logprobs": True}, "logprobs"),
    ({"presence_penalty": 0.5}, "presence_penalty"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
])
def test_chat_refuses_what_it_cannot_honour(base, extra, param):
    with pytest.raises(openai.BadRequestError) as err:
        client(base).chat.completions.create(model="auto", messages=apply_prompt(), **extra)
    assert err.value.status_code == 400 and err.value.body["param"] == param


def test_chat_errors_are_openai_shaped(base):
    c = client(base)
    with pytest.raises(openai.NotFoundError) as err:
        c.chat.completions.create(model="gpt-9", messages=apply_prompt())
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="<code>"):  # model auto without an apply prompt
        c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument supplied: bogus"):
        c.chat.completions.create(model="auto", messages=apply_prompt(), extra_body={"bogus": 1})
    with pytest.raises(openai.BadRequestError, match="elision markers"):  # the CLI's guards
        c.chat.completions.create(model="auto", messages=apply_prompt(snippet="// ... existing code ...\n"))
    # a merge the deterministic merge refuses: 422 with the guard's kind as the code
    r = requests.post(base + "/v1/apply", json={"initialCode": "x = 1\n" * 40, "editSnippet": "# ...\nx = 2\n# ...\n"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "merge-refused"


def _raw(base: str, data: bytes, timeout: float = 20.0) -> bytes:
    u = urlparse(base)
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before all of it was sent
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
        return out


def test_fuzzed_bad_requests_get_clear_4xx_and_the_server_stays_healthy(base):
    post = lambda body, **kw: requests.post(base + "/v1/apply", data=body, headers={  # noqa: E731
        "Content-Type": "application/json", **kw.pop("headers", {})}, **kw)
    cases = {
        "malformed json": (post(b'{"initialCode": "a",'), 400),
        "not an object": (post(b'[1, 2]'), 400),
        "wrong type": (post(json.dumps({"initialCode": 3, "editSnippet": "x"})), 400),
        "missing field": (post(json.dumps({"initialCode": "a = 1\n"})), 400),
        "unknown field": (post(json.dumps({"initialCode": "a", "editSnippet": "b", "x": 1})), 400),
        "invalid utf-8": (post(b'{"initialCode": "\xff\xfe", "editSnippet": "b"}'), 400),
        "lone surrogate": (post(b'{"initialCode": "\\ud800", "editSnippet": "b = 1"}'), 400),
        "NUL in code": (post(json.dumps({"initialCode": "a\u0000", "editSnippet": "b = 1"})), 400),
        "huge body": (post(b'{"initialCode": "' + b"a" * (MAX_BODY + 10) + b'"}'), 413),
        "bad mode": (post(json.dumps({"initialCode": "a", "editSnippet": "b", "mode": "yolo"})), 400),
        "chat without messages": (requests.post(base + "/v1/chat/completions", json={"model": "auto",
                                                                                       "messages": []}), 400),
        "unknown path": (requests.get(base + "/v2/nothing"), 404),
        "wrong method": (requests.get(base + "/v1/apply"), 405),
    }
    for name, (r, status) in cases.items():
        assert r.status_code == status, (name, r.status_code, r.text)
        assert r.json()["error"]["message"], name  # OpenAI-shaped, with a message
    # a chunked body over the limit: refused while it arrives, without a Content-Length
    head = b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    piece = b"a" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(4)) + b"0\r\n\r\n"
    assert b" 413 " in _raw(base, head + chunks).split(b"\r\n")[0] + b" "
    # a slow client: headers promise a body that never comes -> 408 after --body-timeout
    slow = b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"in"
    assert b" 408 " in _raw(base, slow).split(b"\r\n")[0] + b" "
    # a declared length over the limit is refused before any body is read
    big = b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 999999999\r\n\r\n"
    assert b" 413 " in _raw(base, big).split(b"\r\n")[0] + b" "
    assert requests.get(base + "/health").status_code == 200
    assert requests.post(base + "/v1/apply", json={"initialCode": ORIGINAL, "editSnippet": SNIPPET}).json()[
        "mergedCode"] == EXPECTED


def test_concurrent_merge_applies_all_answered_correctly(base):
    """16 clients, 64 distinct edits at once: every answer is its own edit, none lost or mixed."""
    def edit(i: int):
        original = "".join(f"def f{j}():\n    return {j}\n\n\n" for j in range(30))
        snippet = f"# ... existing code ...\ndef f{i % 30}():\n    return {1000 + i}\n# ... existing code ...\n"
        want = original.replace(f"return {i % 30}\n", f"return {1000 + i}\n", 1) if i % 30 else \
            original.replace("return 0\n", f"return {1000 + i}\n", 1)
        for _ in range(20):  # a 429 asks to come back later
            r = requests.post(base + "/v1/apply", json={"initialCode": original, "editSnippet": snippet,
                                                        "path": "m.py"})
            if r.status_code != 429:
                break
            threading.Event().wait(float(r.headers["Retry-After"]) / 10)
        return r.status_code, r.json().get("mergedCode") == want

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(edit, range(64)))
    assert results == [(200, True)] * 64


def test_auth_with_a_bearer_token():
    with running_server("--mode", "merge", "--auth-token", "s3cret") as base:
        with pytest.raises(openai.AuthenticationError):
            client(base, "wrong").chat.completions.create(model="auto", messages=apply_prompt())
        assert requests.post(base + "/v1/apply", json={}).status_code == 401  # before validation
        assert requests.get(base + "/metrics").status_code == 401
        assert requests.get(base + "/health").status_code == 200  # probes need no key
        reply = client(base, "s3cret").chat.completions.create(model="auto", messages=apply_prompt())
        assert reply.choices[0].message.content == EXPECTED


def test_remote_engine_against_our_own_server(base, tmp_path):
    """--backend openai: the CLI applies through the server (model 'auto' there)."""
    from click.testing import CliRunner

    from fastapply.cli import cli

    target = tmp_path / "app.py"
    target.write_text(ORIGINAL)
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    r = CliRunner().invoke(cli, ["apply", str(target), "-s", str(snippet), "--in-place", "--mode", "model",
                                 "--backend", "openai", "--base-url", base + "/v1", "--model", "auto"])
    assert r.exit_code == 0, r.output
    assert target.read_text() == EXPECTED


def test_a_server_in_front_of_an_upstream(base):
    """fastapply serve --backend openai: /v1/apply forwarded to an OpenAI-compatible upstream
    (here the merge server above, through its fastapply-merge model)."""
    with running_server("--backend", "openai", "--base-url", base + "/v1", "--model", "fastapply-merge",
                        "--mode", "model", "--served-name", "upstream") as front:
        with ThreadPoolExecutor(4) as pool:  # no KV cache in front: requests run side by side
            replies = list(pool.map(lambda _: requests.post(front + "/v1/apply", json={
                "initialCode": ORIGINAL, "editSnippet": SNIPPET}).json(), range(4)))
        assert [r["mergedCode"] for r in replies] == [EXPECTED] * 4
        assert all(r["source"] == "model" for r in replies)  # the upstream is the "model" here
        r = requests.post(front + "/v1/chat/completions", json={"model": "upstream", "messages": [
            {"role": "user", "content": "hi"}]})
        assert r.status_code == 400 and r.json()["error"]["code"] == "model_not_available"  # ask the upstream
