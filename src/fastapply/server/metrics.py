"""Prometheus metrics of one server, on a registry of its own (no process globals, so two
apps in one process -- tests -- never collide).

The accept rate is ``fastapply_tokens_total{kind="accepted"} / {kind="drafted"}``, a ratio
Prometheus computes over any window (``rate(...accepted[5m]) / rate(...drafted[5m])``).
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..speculative import DecodeStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("fastapply_requests", "HTTP requests by endpoint and status code.",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("fastapply_request_seconds", "Time to the end of the response.", ["endpoint"],
                                 buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
                                 registry=self.registry)
        self.tokens = Counter("fastapply_tokens", "Tokens by kind: prompt, cached (prompt tokens reused from "
                              "the KV cache), completion, drafted, accepted (draft tokens kept).", ["kind"],
                              registry=self.registry)
        self.applies = Counter("fastapply_applies", "Applies by who wrote the file.", ["source"],
                               registry=self.registry)
        self.cancelled = Counter("fastapply_cancelled", "Jobs stopped because their client went away.",
                                 registry=self.registry)
        self.admitted = Gauge("fastapply_admitted_requests", "Requests admitted (waiting or running).",
                              registry=self.registry)
        self.ready = Gauge("fastapply_model_ready", "1 once the model is loaded (or none is needed).",
                           registry=self.registry)

    def count_tokens(self, stats: DecodeStats) -> None:
        for kind, value in (("prompt", stats.prompt_tokens), ("cached", stats.cached_prompt_tokens),
                            ("completion", stats.output_tokens), ("drafted", stats.drafted_tokens),
                            ("accepted", stats.accepted_tokens)):
            if value:
                self.tokens.labels(kind).inc(value)

    def render(self) -> bytes:
        return generate_latest(self.registry)
