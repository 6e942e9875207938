"""Teacher examples: reply parsing and filters on literal strings; the loop against a scripted
HTTP teacher (fast) and against llama.cpp's real OpenAI-compatible server (model tier)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fastapply import prompt
from fastapply.guards import check_snippet, guard_failure
from fastapply.merge import merge
from fastapply.train.example import SourceFile
from fastapply.train.teacher import (
    PROPOSE_SYSTEM,
    REASONS,
    ChatClient,
    TeacherError,
    parse_applied,
    parse_proposal,
    rejection,
    teacher_examples,
)

ORIGINAL = '''"""Small inventory helpers."""


def total(items):
    return sum(item.price for item in items)


def cheapest(items):
    return min(items, key=lambda item: item.price)


def describe(item):
    return f"{item.name}: {item.price}"
'''
SNIPPET = '''# ... existing code ...
def cheapest(items):
    if not items:
        raise ValueError("no items")
    return min(items, key=lambda item: item.price)
# ... existing code ...
'''
TARGET = ORIGINAL.replace(
    "def cheapest(items):\n", 'def cheapest(items):\n    if not items:\n        raise ValueError("no items")\n')
INSTRUCTION = "Raise ValueError when cheapest() gets no items."
REPLY = f"<instruction>{INSTRUCTION}</instruction>\n```python\n{SNIPPET}```\n"

JS = """// Tiny event emitter.
export class Emitter {
  constructor() {
    this.handlers = {};
  }

  on(name, fn) {
    (this.handlers[name] ||= []).push(fn);
  }

  emit(name, ...args) {
    for (const fn of this.handlers[name] || []) fn(...args);
  }
}
"""
GO = """package stack

// Stack is a LIFO of ints.
type Stack struct {
	items []int
}

func (s *Stack) Push(v int) {
	s.items = append(s.items, v)
}

func (s *Stack) Pop() int {
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v
}
"""
FILES = [
    SourceFile("test:hand", "inventory.py", "python", ORIGINAL),
    SourceFile("test:hand", "emitter.js", "javascript", JS),
    SourceFile("test:hand", "stack.go", "go", GO),
]


# --- parsing --------------------------------------------------------------------------------

def test_parse_proposal_reads_the_asked_format():
    got = parse_proposal("Sure!\n" + REPLY + "\nHope this helps.")
    assert got is not None
    assert got.instruction == INSTRUCTION and got.snippet == SNIPPET


@pytest.mark.parametrize("reply", [
    "",
    f"```python\n{SNIPPET}```",  # no instruction
    f"<instruction>Two\nlines</instruction>\n```python\n{SNIPPET}```",
    f"```python\n{SNIPPET}```\n<instruction>{INSTRUCTION}</instruction>",  # block before the instruction
    f"<instruction>{INSTRUCTION}</instruction>\n```python\n\n```",  # empty block
    f"<instruction>{INSTRUCTION}</instruction>\n```python\n{SNIPPET}",  # block never closed
    f"<instruction> </instruction>\n```python\n{SNIPPET}```",
])
def test_parse_proposal_refuses_anything_else(reply):
    assert parse_proposal(reply) is None


def test_parse_applied_finds_the_tag_and_keeps_newline_semantics():
    reply = "Here it is:\n" + prompt.OPEN_TAG + "\n" + prompt.expected_answer(TARGET) + "\ndone"
    assert parse_applied(reply, ORIGINAL) == TARGET
    assert parse_applied(reply, ORIGINAL.rstrip("\n")) == TARGET.rstrip("\n")
    assert parse_applied(prompt.expected_answer(TARGET), ORIGINAL) is None  # no opening tag
    assert parse_applied(prompt.OPEN_TAG + "\n" + TARGET, ORIGINAL) is None  # never closed


# --- filters --------------------------------------------------------------------------------

def test_a_good_pair_passes_and_agrees_with_the_merge():
    assert rejection(ORIGINAL, SNIPPET, TARGET, path="inventory.py") is None
    assert merge(ORIGINAL, SNIPPET, path="inventory.py").text == TARGET


@pytest.mark.parametrize("snippet,target,reason", [
    ("", TARGET, "snippet-empty"),
    ("# ... existing code ...\n", TARGET, "snippet-empty"),
    (TARGET, TARGET, "snippet-no-marker"),  # a whole-file rewrite
    (SNIPPET, None, "apply-unparseable"),
    (SNIPPET, "```python\n" + TARGET + "```\n", "apply-fenced"),
    (SNIPPET, SNIPPET, "leaked-markers"),  # the teacher echoed the snippet
    (SNIPPET, "def cheapest(items):\n    if not items:\n        raise ValueError('x')\n", "mass-deletion"),
    (SNIPPET, ORIGINAL, "no-change"),
    (SNIPPET, ORIGINAL.replace('helpers."""\n', 'helpers."""   \n'), "whitespace-only"),
    # Claims the edit but wrote something else: the snippet's lines are not in the result.
    (SNIPPET, ORIGINAL.replace("def cheapest(items):\n", "def cheapest(items):\n    assert items\n"),
     "snippet-not-applied"),
    # The snippet's lines are all there, but so is an edit nobody asked for; the merge is sure.
    (SNIPPET, TARGET.replace("sum(item.price", "sum(0 + item.price"), "merge-disagrees"),
])
def test_each_filter_names_its_reason(snippet, target, reason):
    assert reason in REASONS
    assert rejection(ORIGINAL, snippet, target, path="inventory.py") == reason


def test_too_large_a_change_is_dropped():
    body = "".join(f"x{i} = {i}\n" for i in range(20))
    added = "".join(f"y{i} = {i}\n" for i in range(20))
    new, snippet = body + added, "# ... existing code ...\nx19 = 19\n" + added  # 20 new lines on 20
    assert rejection(body, snippet, new, path="c.py") == "too-large"
    assert rejection(body, snippet, new, path="c.py", max_touched=0.6) is None


# --- the loop, against a scripted teacher over real HTTP ------------------------------------

class Teacher:
    """A stdlib HTTP server speaking the chat-completions shape with canned replies."""

    def __init__(self, propose: str, apply: str, *, refuse_prediction: bool) -> None:
        self.propose, self.apply, self.refuse_prediction = propose, apply, refuse_prediction
        self.bodies: list[dict] = []
        teacher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                teacher.bodies.append(body)
                if "prediction" in body and teacher.refuse_prediction:
                    self.send_response(400)
                    self.end_headers()
                    return
                proposing = body["messages"][0]["content"] == PROPOSE_SYSTEM
                content = teacher.propose if proposing else teacher.apply
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    made = []

    def make(propose=REPLY, apply=prompt.OPEN_TAG + "\n" + prompt.expected_answer(TARGET), refuse_prediction=False):
        made.append(Teacher(propose, apply, refuse_prediction=refuse_prediction))
        return made[-1]

    yield make
    for t in made:
        t.close()


def test_an_agreeing_teacher_yields_an_example_and_prediction_falls_back(scripted):
    teacher = scripted(refuse_prediction=True)
    stats: dict = {}
    got = list(teacher_examples(FILES[:1], base_url=teacher.url, model="t", limit=1, seed="s", stats=stats))
    assert len(got) == 1
    ex = got[0]
    assert (ex.kind, ex.language, ex.source, ex.path) == ("teacher", "python", "test:hand", "inventory.py")
    assert (ex.original, ex.snippet, ex.target, ex.instruction) == (ORIGINAL, SNIPPET, TARGET, INSTRUCTION)
    # propose, apply with the prediction (refused with a 400), apply again without it
    assert stats["attempts"] == 1 and stats["accepted"] == 1 and stats["requests"] == 3
    assert stats["prediction"] is False and stats["rejected"] == {}
    assert "prediction" in teacher.bodies[1] and "prediction" not in teacher.bodies[2]
    assert teacher.bodies[2]["messages"] == prompt.messages(ORIGINAL, SNIPPET, INSTRUCTION)
    assert all(b["temperature"] == 0 for b in teacher.bodies)


def test_prediction_is_kept_where_the_server_takes_it(scripted):
    teacher = scripted()
    stats: dict = {}
    list(teacher_examples(FILES[:1], base_url=teacher.url, model="t", limit=1, seed="s", stats=stats))
    assert stats["requests"] == 2 and stats["prediction"] is True
    assert teacher.bodies[1]["prediction"] == {"type": "content", "content": ORIGINAL}


def test_a_disagreeing_teacher_is_counted_not_yielded(scripted):
    wrong = TARGET.replace("sum(item.price", "sum(0 + item.price")
    teacher = scripted(apply=prompt.OPEN_TAG + "\n" + prompt.expected_answer(wrong))
    stats: dict = {}
    got = list(teacher_examples(FILES[:1], base_url=teacher.url, model="t", limit=2, seed="s", stats=stats))
    assert got == []
    # Attempts are bounded (3 * limit), and the same file comes round again with a new edit.
    assert stats["attempts"] == 6 and stats["rejected"] == {"merge-disagrees": 6}


def test_choices_follow_the_seed(scripted):
    def prompts(seed):
        teacher = scripted(propose="no format here")
        stats: dict = {}
        list(teacher_examples(FILES, base_url=teacher.url, model="t", limit=1, seed=seed, stats=stats))
        assert stats["attempts"] == 3 and stats["rejected"] == {"proposal-unparseable": 3}
        return [b["messages"][1]["content"] for b in teacher.bodies]

    first = prompts("a")
    assert prompts("a") == first
    assert prompts("b") != first
    assert sorted(p.split("File `")[1].split("`")[0] for p in first) == ["emitter.js", "inventory.py", "stack.go"]
    assert "// ... " in next(p for p in first if "File `stack.go`" in p)  # the file's comment syntax


def test_an_unreachable_endpoint_raises():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TeacherError, match="unreachable"):
        list(teacher_examples(FILES, base_url=f"http://127.0.0.1:{port}/v1", model="t", limit=1, seed="s"))


# --- the model tier: llama.cpp's OpenAI-compatible server on SmolLM2-135M --------------------

@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """``python -m llama_cpp.server`` on the embedded SmolLM2 GGUF, on a free port."""
    pytest.importorskip("llama_cpp")
    from fastapply.models import resolve
    from fastapply.settings import Settings

    gguf = resolve("smollm2-135m", Settings().cache_dir)[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # A file, not a pipe: llama.cpp logs enough to fill a pipe nobody reads and stall the server.
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", "4096", "--n_threads", "1"],
            stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({server.returncode}): {log.read_text(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(url + "/models", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not answer /v1/models within 120 s")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.model
def test_teacher_loop_against_a_real_server(llama_server):
    """SmolLM2-135M is far too small to be a teacher: only what is real is asserted -- the
    round trips happened, every yielded example passes the filters again, every rejection
    has a known reason and the counts add up."""
    stats: dict = {}
    got = list(teacher_examples(FILES, base_url=llama_server, model="smollm2", limit=3, max_attempts=3, seed="t",
                                max_tokens=96, stats=stats))
    assert stats["files"] == 3 and stats["attempts"] == 3
    assert stats["requests"] >= stats["attempts"]  # at least one proposal each
    assert stats["accepted"] == len(got)
    assert stats["accepted"] + sum(stats["rejected"].values()) == stats["attempts"]
    assert set(stats["rejected"]) <= set(REASONS)  # no http-* errors from a healthy server
    for ex in got:
        check_snippet(ex.snippet)
        assert guard_failure(ex.target, ex.original, ex.snippet) is None
        assert rejection(ex.original, ex.snippet, ex.target, path=ex.path) is None
        assert ex.kind == "teacher" and ex.target != ex.original


@pytest.mark.model
def test_apply_round_trip_against_a_real_server(llama_server):
    """The apply call (our prompt, predicted output or its fallback) on a known-good snippet,
    independent of whether the tiny model manages to propose one."""
    client = ChatClient(llama_server, "smollm2", timeout=120)
    reply = client.chat(prompt.messages(ORIGINAL, SNIPPET, INSTRUCTION), max_tokens=160, prediction=ORIGINAL)
    assert client.requests in (1, 2) and client.prediction is (client.requests == 1)
    assert isinstance(reply, str) and reply
    reason = rejection(ORIGINAL, SNIPPET, parse_applied(reply, ORIGINAL), path="inventory.py")
    assert reason is None or reason in REASONS
