"""``fastapply serve`` with the embedded model (the model tier): predicted outputs, lossless
greedy decoding, streaming in verified runs, prefix reuse, cancellation, a mixed load."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
import requests

from fastapply import prompt
from fastapply.applier import Applier
from fastapply.settings import Settings
from serverproc import running_server

pytestmark = pytest.mark.model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ORIGINAL = (EXAMPLES / "app.py").read_text()
SNIPPET = (EXAMPLES / "app.snippet.py").read_text()
ANCHOR = "    def restock(self, sku: str, amount: int) -> None:\n"
EXPECTED = ORIGINAL.replace(ANCHOR, ANCHOR + '        if amount <= 0:\n            raise ValueError("amount must be positive")\n')
MODEL = "smollm2-135m-apply"
REPEAT = [{"role": "user", "content": "Repeat exactly: The quick brown fox jumps over the lazy dog."}]


@pytest.fixture(scope="module")
def base():
    with running_server("--mode", "auto", "--queue-size", "8", "--retry-after", "1", "--threads", "2") as url:
        yield url


def client(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)


def model_apply(base: str, **extra) -> requests.Response:
    return requests.post(base + "/v1/apply", json={"initialCode": ORIGINAL, "editSnippet": SNIPPET, "mode": "model",
                                                   **extra}, stream=extra.get("stream", False))


def test_model_apply_is_exact_and_reuses_the_cached_prefix(base):
    first, again = model_apply(base).json(), model_apply(base).json()
    for body in (first, again):
        assert body["mergedCode"] == EXPECTED and body["source"] == "model"
        details = body["usage"]["completion_tokens_details"]
        assert details["accepted_prediction_tokens"] > 0.8 * body["usage"]["completion_tokens"]
    # the same file again: all of the prompt but its last token comes from the KV cache
    assert again["usage"]["prompt_tokens_details"]["cached_tokens"] == again["usage"]["prompt_tokens"] - 1
    assert again["usage"]["completion_tokens"] == first["usage"]["completion_tokens"]


def test_prediction_is_lossless_and_counted(base):
    c = client(base)
    plain = c.chat.completions.create(model=MODEL, messages=REPEAT, max_tokens=24, temperature=0)
    details = plain.usage.completion_tokens_details
    assert (details.accepted_prediction_tokens, details.rejected_prediction_tokens) == (0, 0)  # nothing drafted
    text = plain.choices[0].message.content
    predicted = c.chat.completions.create(model=MODEL, messages=REPEAT, max_tokens=24,
                                          prediction={"type": "content", "content": text})
    assert predicted.choices[0].message.content == text  # the same greedy text ...
    assert predicted.usage.completion_tokens_details.accepted_prediction_tokens > 0  # ... from fewer passes
    wrong = c.chat.completions.create(model=MODEL, messages=REPEAT, max_tokens=24,
                                      prediction={"type": "content", "content": [{"type": "text", "text": "Nope " * 20}]})
    assert wrong.choices[0].message.content == text
    # temperature > 0 is decoded greedily too (docs/server.md)
    warm = c.chat.completions.create(model=MODEL, messages=REPEAT, max_tokens=24, temperature=0.9)
    assert warm.choices[0].message.content == text
    # an apply prompt adds the file and the snippet as draft sources; still the same text
    messages = prompt.messages(ORIGINAL, SNIPPET)
    a = c.chat.completions.create(model=MODEL, messages=messages, max_tokens=40)
    b = c.chat.completions.create(model=MODEL, messages=messages, max_tokens=40,
                                  prediction={"type": "content", "content": prompt.expected_answer(EXPECTED)})
    assert a.choices[0].message.content == b.choices[0].message.content
    assert a.choices[0].finish_reason == "length" and a.usage.completion_tokens == 40


def test_stop_sequences_and_token_limits(base):
    c = client(base)
    full = c.chat.completions.create(model=MODEL, messages=REPEAT, max_tokens=24).choices[0].message.content
    word = full.split()[1]
    cut = c.chat.completions.create(model=MODEL, messages=REPEAT, max_tokens=24, stop=[word])
    assert cut.choices[0].message.content == full[: full.index(word)]
    assert cut.choices[0].finish_reason == "stop"
    short = c.chat.completions.create(model=MODEL, messages=REPEAT, max_completion_tokens=3)
    assert short.usage.completion_tokens == 3 and short.choices[0].finish_reason == "length"


def test_streams_one_chunk_per_verified_run(base):
    r = model_apply(base, stream=True)
    events = [json.loads(line[6:]) for line in r.iter_lines(decode_unicode=True)
              if line.startswith("data: ") and line != "data: [DONE]"]
    pieces = [e["mergedCode"] for e in events if e.get("mergedCode")]
    assert "".join(pieces) == EXPECTED
    final = events[-1]
    assert final["done"] and final["source"] == "model"
    # ~23 tokens per forward pass here: far fewer pieces than tokens
    assert len(pieces) <= final["speculation"]["forward_passes"] + 1 < final["usage"]["completion_tokens"] / 4
    chunks = list(client(base).chat.completions.create(
        model=MODEL, messages=REPEAT, max_tokens=24, stream=True, stream_options={"include_usage": True},
        prediction={"type": "content", "content": "The quick brown fox jumps over the lazy dog."}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    whole = client(base).chat.completions.create(model=MODEL, messages=REPEAT, max_tokens=24)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_remote_engine_reports_the_upstreams_counts(base):
    """--backend openai against this server: the file goes up as the prediction, counts come back."""
    applier = Applier(Settings(backend="openai", base_url=base + "/v1", model="fastapply-model", mode="model"))
    result = applier.apply(ORIGINAL, SNIPPET)
    assert result.text == EXPECTED
    assert result.stats.accepted_tokens > 0 and result.stats.drafted_tokens >= result.stats.accepted_tokens


def test_mixed_load_every_answer_correct_and_complete(base):
    """16 clients, 40 merge-mode and 4 model-mode applies at once; 429s are retried as asked."""
    def merge_edit(i: int):
        original = "".join(f"def f{j}():\n    return {j}\n\n\n" for j in range(30))
        j = i % 29 + 1
        snippet = f"# ... existing code ...\ndef f{j}():\n    return {1000 + i}\n# ... existing code ...\n"
        want = original.replace(f"    return {j}\n", f"    return {1000 + i}\n", 1)
        return {"initialCode": original, "editSnippet": snippet, "mode": "merge", "path": "m.py"}, want

    jobs = [merge_edit(i) for i in range(40)]
    jobs[5:5] = jobs[15:15] = jobs[25:25] = jobs[35:35] = [({"initialCode": ORIGINAL, "editSnippet": SNIPPET,
                                                            "mode": "model"}, EXPECTED)]
    refused = []

    def run(job):
        body, want = job
        for _ in range(600):  # bounded: a 429 asks to come back after Retry-After
            r = requests.post(base + "/v1/apply", json=body, timeout=300)
            if r.status_code != 429:
                return r.status_code, r.json().get("mergedCode") == want, body["mode"]
            refused.append(1)
            time.sleep(float(r.headers["Retry-After"]) / 4)
        return 429, False, body["mode"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(run, jobs))
    assert len(results) == 44
    assert all(status == 200 and ok for status, ok, _ in results), results
    assert sum(mode == "model" for *_, mode in results) == 4
    assert requests.get(base + "/health").json()["admitted"] == 0


def test_full_queue_429_and_a_disconnect_cancels_the_job():
    with running_server("--mode", "auto", "--queue-size", "1", "--retry-after", "3", "--threads", "2") as base:
        r = model_apply(base, stream=True)
        lines = r.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("data: "))  # the job is running
        busy = requests.post(base + "/v1/apply", json={"initialCode": ORIGINAL, "editSnippet": SNIPPET,
                                                       "mode": "merge"})
        assert busy.status_code == 429 and busy.headers["Retry-After"] == "3"
        assert busy.json()["error"]["code"] == "queue_full"
        r.close()  # the client goes away mid-stream
        for _ in range(600):  # bounded wait for the job to stop at its next forward pass
            text = requests.get(base + "/metrics").text
            if "fastapply_cancelled_total 1.0" in text:
                break
            time.sleep(0.1)
        assert "fastapply_cancelled_total 1.0" in text
        assert model_apply(base).json()["mergedCode"] == EXPECTED  # the engine is free and its cache sound
