"""Pure mapping between OpenAI predicted outputs and vLLM's request and response fields.

No vLLM import: the endpoint plugin uses these, and the fast test tier checks them without
vLLM installed.

In: OpenAI's ``prediction: {"type": "content", "content": str | [{"type": "text", "text"}]}``
becomes ``vllm_xargs.prediction_token_ids`` (the endpoint tokenizes the text).
Out: vLLM's per-request spec-decode metrics (``--per-request-spec-decode-metrics summary``,
``metrics.speculative_decoding.{num_draft_tokens, num_accepted_draft_tokens}``) become
``usage.completion_tokens_details.{accepted,rejected}_prediction_tokens``. Under
``PredictionProposer`` every draft token comes from the prediction (or, after a divergence,
from the prompt the prediction re-synced into), so accepted = draft tokens the model verified
and kept, rejected = draft tokens verified and thrown away -- the compute OpenAI bills as
rejected. Where vLLM reported no metrics, the fields are left out, not set to a guessed 0.
"""
from __future__ import annotations


class PredictionError(ValueError):
    """A ``prediction`` the endpoint cannot use; the message names what is wrong."""


def prediction_text(prediction) -> str:
    """The text of an OpenAI ``prediction`` object.

    Example:
        prediction_text({"type": "content", "content": "a = 1\\n"})                       -> "a = 1\\n"
        prediction_text({"type": "content", "content": [{"type": "text", "text": "a"}]})  -> "a"
        prediction_text({"type": "file"})   -> PredictionError: prediction.type must be "content"
    """
    if not isinstance(prediction, dict) or prediction.get("type") != "content":
        raise PredictionError('prediction.type must be "content"')
    content = prediction.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                         and isinstance(p.get("text"), str) for p in content):
        return "".join(p["text"] for p in content)
    raise PredictionError("prediction.content must be a string or a list of text parts")


def with_prediction_ids(body: dict, ids: list[int]) -> dict:
    """The request body for vLLM: ``prediction`` removed, its ids in ``vllm_xargs``."""
    out = {k: v for k, v in body.items() if k != "prediction"}
    out["vllm_xargs"] = {**(body.get("vllm_xargs") or {}), "prediction_token_ids": list(ids)}
    return out


def prediction_usage(payload: dict) -> dict:
    """``payload`` (a response or the final stream chunk) with the prediction counts in its usage.

    Example:
        prediction_usage({"usage": {"completion_tokens": 9},
                          "metrics": {"speculative_decoding": {"num_draft_tokens": 12,
                                                               "num_accepted_draft_tokens": 7}}})
        -> usage.completion_tokens_details == {"accepted_prediction_tokens": 7,
                                               "rejected_prediction_tokens": 5}
    """
    usage = payload.get("usage")
    spec = (payload.get("metrics") or {}).get("speculative_decoding")
    if not usage or not spec:
        return payload
    accepted = int(spec["num_accepted_draft_tokens"])
    details = dict(usage.get("completion_tokens_details") or {})
    details["accepted_prediction_tokens"] = accepted
    details["rejected_prediction_tokens"] = int(spec["num_draft_tokens"]) - accepted
    return {**payload, "usage": {**usage, "completion_tokens_details": details}}
