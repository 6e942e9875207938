"""The worker extension that hands each worker's model runner to its ``PredictionProposer``.

    LLM(..., worker_extension_cls="fastapply.vllm.worker.PredictionWorkerExtension")

vLLM mixes this class into every worker (one per tensor-parallel rank). vLLM 0.33 calls
``init_worker_extension`` after the device is up; on 0.32, which has no such hook, call it
once through ``llm.collective_rpc("init_worker_extension")``. Either way the proposer also
finds its runner by itself when vLLM builds it (``proposer.py``), so a plain ``vllm serve``
needs neither; this is the explicit, documented route for embedders that build their own
runner or proposer.
"""
from __future__ import annotations


class PredictionWorkerExtension:
    def init_worker_extension(self) -> bool:
        """Attach the runner; True when this worker's drafter is a PredictionProposer."""
        runner = getattr(self, "model_runner", None)
        drafter = getattr(runner, "drafter", None)
        if drafter is None or not hasattr(drafter, "attach"):
            return False
        drafter.attach(runner)
        return True
