"""``PredictionProposer``: fastapply's copy drafter as a vLLM v1 ``custom_class`` proposer.

    LLM(model, speculative_config={"method": "custom_class",
                                   "model": "fastapply.vllm.PredictionProposer",
                                   "num_speculative_tokens": 32})

Each request carries its own draft: the token ids of its predicted output in
``SamplingParams.extra_args["prediction_token_ids"]`` (the OpenAI server's ``vllm_xargs``;
``fastapply.vllm.endpoint`` fills it from a request's ``prediction``). vLLM calls ``propose``
once per step with the whole batch but no request ids, so the proposer holds the model
runner (handed over by ``fastapply.vllm.worker``, or found on the construction stack) and
reads, per batch row ``i``, the request's state at ``runner.requests[runner.input_batch.req_ids[i]]``.

Per request, the same objects as the llama.cpp path: a ``CopyDrafter`` over [prediction,
prompt] (the prompt holds the original file and the snippet of an apply, so a divergence
from the prediction can re-sync into either) and an ``AdaptiveDraftLength`` capped at
``num_speculative_tokens``. vLLM verifies the drafts with its own rejection sampler, so the
output is what decoding without speculation would give. A request without a prediction
gets no drafts at all: plain decoding, never an error.
"""
from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..settings import Settings
from ..speculative import AdaptiveDraftLength, CopyDrafter

EXTRA_ARG = "prediction_token_ids"


def prediction_of(extra_args: dict | None) -> list[int] | None:
    """The request's predicted token ids, or None when it has none (or not a list of ints).

    Example:
        prediction_of({"prediction_token_ids": [5, 6]}) -> [5, 6]
        prediction_of({"prediction_token_ids": "5 6"})  -> None   # not ids: decode normally
        prediction_of(None)                             -> None
    """
    ids = (extra_args or {}).get(EXTRA_ARG)
    if not isinstance(ids, list) or not ids or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
        return None
    return ids


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


@dataclass
class RequestDraft:
    """One request's drafting state, fed with the tokens vLLM emitted since the last step.

    Example (prediction [1, 2, 3, 4], no prompt source, k=4, initial draft 2):
        step([])           -> [1, 2]    # prefill done, nothing generated yet
        step([1, 2, 3])    -> [4]       # both accepted + bonus 3; the schedule grows to 4
        step([4, 9])       -> []        # 4 accepted, model wrote 9: unsynced, plain decoding
    """

    drafter: CopyDrafter
    schedule: AdaptiveDraftLength
    fed: int = 0  # generated tokens already given to the drafter
    last_draft: list[int] = field(default_factory=list)

    def step(self, new: Sequence[int], room: int) -> list[int]:
        """``new``: tokens emitted since the last draft (accepted + bonus); ``room``: most draft
        tokens allowed now. Returns the next draft."""
        if self.last_draft and new:
            # Emitted = accepted draft prefix + one bonus token, so the bonus never counts.
            self.schedule.observe(len(self.last_draft), min(common_prefix(new, self.last_draft), len(new) - 1))
        self.drafter.advance(new)
        self.fed += len(new)
        k = min(self.schedule.next(), room)
        self.last_draft = self.drafter.propose(k) if k > 0 else []
        return self.last_draft


class PredictionProposer:
    """vLLM ``custom_class`` proposer: per-request drafts from predicted outputs."""

    def __init__(self, vllm_config) -> None:
        spec = vllm_config.speculative_config
        self.k = int(spec.num_speculative_tokens)
        self.max_model_len = int(vllm_config.model_config.max_model_len)
        self.settings = Settings().speculative  # FASTAPPLY_DRAFT_* / NGRAM_* apply here too
        self.tracks: dict[str, RequestDraft | None] = {}  # request id -> state (None: no prediction)
        # vLLM builds the proposer inside its model runner's __init__; holding that runner is
        # what makes a plain `vllm serve` work. The worker extension sets it explicitly too.
        self.runner = _runner_on_stack()

    def attach(self, runner) -> None:
        self.runner = runner

    def load_model(self, *args, **kwargs) -> None:
        """No model to load: drafts are copied, not generated."""

    def propose(self, sampled_token_ids: list[list[int]], num_tokens_no_spec, token_ids_cpu,
                slot_mappings=None) -> list[list[int]]:
        """One draft per batch row; [] for rows to decode normally.

        sampled_token_ids:  [batch][accepted + 1] tokens emitted this step ([] while prefilling)
        num_tokens_no_spec: [>= batch] int, tokens of each row, prompt + emitted
        token_ids_cpu:      [>= batch, max_model_len] int, each row's tokens
        """
        runner = self.runner
        if runner is None:
            raise RuntimeError("PredictionProposer has no model runner: vLLM built it outside a model "
                               "runner; set worker_extension_cls='fastapply.vllm.worker.PredictionWorkerExtension'")
        req_ids = list(runner.input_batch.req_ids)
        live = runner.requests
        for gone in [r for r in self.tracks if r not in live]:
            del self.tracks[gone]  # finished or aborted requests
        drafts: list[list[int]] = []
        for i, sampled in enumerate(sampled_token_ids):
            state = live.get(req_ids[i]) if i < len(req_ids) else None
            n = int(num_tokens_no_spec[i])
            if not sampled or state is None or n >= self.max_model_len:
                drafts.append([])
                continue
            track = self._track(req_ids[i], state)
            if track is None:
                drafts.append([])
                continue
            generated = n - state.num_prompt_tokens
            if generated < track.fed:  # the request was reset (preempted and recomputed)
                self.tracks[req_ids[i]] = track = self._new_track(state)
            new = [int(t) for t in token_ids_cpu[i, state.num_prompt_tokens + track.fed : n]]
            drafts.append(track.step(new, min(self.k, self.max_model_len - n - 1)))
        return drafts

    def _track(self, req_id: str, state) -> RequestDraft | None:
        if req_id not in self.tracks:
            self.tracks[req_id] = self._new_track(state)
        return self.tracks[req_id]

    def _new_track(self, state) -> RequestDraft | None:
        params = state.sampling_params
        prediction = prediction_of(params.extra_args if params is not None else None)
        if prediction is None:
            return None
        s = self.settings
        sources = [prediction, list(state.prompt_token_ids or [])]
        maximum = max(1, min(s.draft_max, self.k))
        schedule = AdaptiveDraftLength(min(s.draft_initial, maximum), min(s.draft_min, maximum), maximum)
        return RequestDraft(CopyDrafter(sources, ngram_min=s.ngram_min, ngram_max=s.ngram_max), schedule)


def _runner_on_stack(depth: int = 8):
    """The vLLM model runner whose ``__init__`` is constructing us, if any."""
    frame = inspect.currentframe()
    try:
        for _ in range(depth):
            frame = frame.f_back if frame is not None else None
            if frame is None:
                return None
            owner = frame.f_locals.get("self")
            if owner is not None and type(owner).__name__.endswith("ModelRunner"):
                return owner
        return None
    finally:
        del frame
