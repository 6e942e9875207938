"""fastapply inside vLLM: per-request drafts (OpenAI predicted outputs) as vLLM plugins.

    proposer.py   PredictionProposer, the ``custom_class`` speculative proposer
    worker.py     PredictionWorkerExtension, hands the model runner to the proposer
    endpoint.py   the ``vllm.endpoint_plugins`` route: ``prediction`` in, accepted/rejected out
    plugin.py     the entry points vLLM loads (``vllm.general_plugins``, ``vllm.endpoint_plugins``)
    tinymodel.py  a tiny random Llama with a local tokenizer, for the CPU test tier

Only these modules import vLLM, lazily; the rest of fastapply never needs it (docs/vllm.md).
"""
from .proposer import PredictionProposer

__all__ = ["PredictionProposer"]
