"""fastapply.vllm's pure parts, without vLLM: the OpenAI <-> vLLM field mapping, the
per-request drafting state, and the proposer's batch-row bookkeeping on a stand-in runner
(the real engine runs in test_vllm.py)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fastapply.speculative import AdaptiveDraftLength, CopyDrafter
from fastapply.vllm.accounting import PredictionError, prediction_text, prediction_usage, with_prediction_ids
from fastapply.vllm.proposer import PredictionProposer, RequestDraft, prediction_of


def test_prediction_text_examples():
    assert prediction_text({"type": "content", "content": "a = 1\n"}) == "a = 1\n"
    assert prediction_text({"type": "content", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}) == "ab"
    with pytest.raises(PredictionError, match="type"):
        prediction_text({"type": "file"})
    with pytest.raises(PredictionError, match="content"):
        prediction_text({"type": "content", "content": [{"type": "image_url"}]})


def test_with_prediction_ids_keeps_other_xargs_and_drops_prediction():
    body = {"model": "m", "prediction": {"type": "content", "content": "x"}, "vllm_xargs": {"other": 1}}
    assert with_prediction_ids(body, [4, 5]) == {"model": "m", "vllm_xargs": {"other": 1, "prediction_token_ids": [4, 5]}}


def test_prediction_usage_example():
    out = prediction_usage({"usage": {"completion_tokens": 9},
                            "metrics": {"speculative_decoding": {"num_draft_tokens": 12, "num_accepted_draft_tokens": 7}}})
    assert out["usage"]["completion_tokens_details"] == {"accepted_prediction_tokens": 7, "rejected_prediction_tokens": 5}


def test_prediction_usage_claims_nothing_without_metrics():
    # No per-request metrics (server started without them): leave the fields out, never guess 0.
    payload = {"usage": {"completion_tokens": 9}, "metrics": None}
    assert prediction_usage(payload) == payload


def test_prediction_of_examples():
    assert prediction_of({"prediction_token_ids": [5, 6]}) == [5, 6]
    assert prediction_of({"prediction_token_ids": "5 6"}) is None  # not ids: decode normally
    assert prediction_of({"prediction_token_ids": [True]}) is None
    assert prediction_of(None) is None


def test_request_draft_example():
    track = RequestDraft(CopyDrafter([[1, 2, 3, 4]]), AdaptiveDraftLength(2, 1, 4))
    assert track.step([], room=4) == [1, 2]
    assert track.step([1, 2, 3], room=4) == [4]  # both accepted + bonus 3; the schedule grew to 4
    assert track.step([4, 9], room=4) == []  # 4 accepted, then 9: unsynced, plain decoding


def fake_runner(rows: dict[str, tuple[list[int], list[int] | None]]):
    """A stand-in for vLLM's model runner: request id -> (prompt ids, prediction ids)."""
    requests = {rid: SimpleNamespace(num_prompt_tokens=len(p), prompt_token_ids=p,
                                     sampling_params=SimpleNamespace(extra_args={"prediction_token_ids": pred} if pred else None))
                for rid, (p, pred) in rows.items()}
    return SimpleNamespace(requests=requests, input_batch=SimpleNamespace(req_ids=list(rows)))


def proposer(k: int = 4) -> PredictionProposer:
    config = SimpleNamespace(speculative_config=SimpleNamespace(num_speculative_tokens=k),
                             model_config=SimpleNamespace(max_model_len=64))
    return PredictionProposer(config)


def test_rows_are_drafted_per_request_and_finished_requests_are_dropped():
    p = proposer(k=4)
    p.attach(fake_runner({"a": ([7, 8], [1, 2, 3, 4, 5]), "b": ([7, 8], None)}))
    tokens = np.zeros((2, 64), dtype=np.int32)
    tokens[0, :3] = [7, 8, 1]  # row a: prompt + its first token, as predicted
    tokens[1, :3] = [7, 8, 6]
    drafts = p.propose([[1], [6]], np.array([3, 3]), tokens)
    assert drafts[0] == [2, 3, 4, 5][: len(drafts[0])] and drafts[0]  # copies the prediction on
    assert drafts[1] == []  # no prediction: plain decoding, no error
    assert p.propose([[], [6]], np.array([3, 4]), tokens)[0] == []  # nothing sampled (prefill chunk): no draft
    p.attach(fake_runner({"b": ([7, 8], None)}))
    p.propose([[6]], np.array([5]), tokens[1:])
    assert "a" not in p.tracks


def test_draft_length_never_exceeds_num_speculative_tokens():
    p = proposer(k=3)
    pred = list(range(100, 140))
    p.attach(fake_runner({"a": ([1], pred)}))
    tokens = np.zeros((1, 64), dtype=np.int32)
    tokens[0, 0] = 1
    n, emitted = 1, []
    for _ in range(6):  # a model that always agrees: the schedule grows, capped at k
        draft = p.propose([[0]], np.array([n]), tokens)[0]
        assert len(draft) <= 3
        step = draft + [pred[len(emitted) + len(draft)]]
        emitted += step
        tokens[0, n : n + len(step)] = step
        n += len(step)
    assert emitted == pred[: len(emitted)]


def test_backend_vllm_without_a_server_is_a_one_line_error(tmp_path):
    from click.testing import CliRunner

    from fastapply.cli import cli

    target = tmp_path / "t.py"
    target.write_text("x = 1\n")
    r = CliRunner().invoke(cli, ["apply", str(target), "--snippet", "-", "--backend", "vllm", "--mode", "model",
                                 "--model", "tiny"], input="x = 2\n")
    assert r.exit_code != 0 and "--backend vllm needs --base-url" in r.output
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output
    assert target.read_text() == "x = 1\n"
